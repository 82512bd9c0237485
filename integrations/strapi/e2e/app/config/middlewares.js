module.exports = [
  'strapi::logger',
  'strapi::errors',
  'strapi::security',
  'strapi::cors',
  'strapi::poweredBy',
  'strapi::query',
  'strapi::body',
  // The tests talk plain HTTP on loopback: the session cookie of Strapi's
  // provider sign-in (Secure by default in production) must travel there.
  { name: 'strapi::session', config: { secure: false } },
  'strapi::favicon',
  'strapi::public',
];
