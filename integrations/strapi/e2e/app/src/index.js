'use strict';

// The test app's only code: its authenticated role may call the article
// routes (as an administrator would allow on the Roles screen); the public
// role may not, so these routes are permission-protected. With
// E2E_PROVIDER_URL set, it also has a sign-in provider of its own, "e2e",
// registered in users-permissions' providers registry as Strapi's
// documentation says for custom providers: the tests' loopback OAuth 2.0
// provider (src/test/provider.ts).
const ACTIONS = ['api::article.article.whoami', 'api::article.article.find', 'api::article.article.create'];

module.exports = {
  register({ strapi }) {
    const url = process.env.E2E_PROVIDER_URL;
    if (!url) return;
    strapi.plugin('users-permissions').service('providers-registry').add('e2e', {
      enabled: true,
      icon: 'key',
      grantConfig: {
        key: process.env.E2E_PROVIDER_CLIENT_ID,
        secret: process.env.E2E_PROVIDER_CLIENT_SECRET,
        authorize_url: `${url}/authorize`,
        access_url: `${url}/token`,
        callback: `${url}/front-end`, // the front end's page, where Strapi sends the browser back
        scope: ['profile'],
      },
      async authCallback({ accessToken }) {
        const res = await fetch(`${url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
        if (!res.ok) throw new Error('The provider refused the access token');
        const body = await res.json();
        return { username: body.username, email: body.email };
      },
    });
  },
  async bootstrap({ strapi }) {
    const role = await strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: 'authenticated' } });
    for (const action of ACTIONS) {
      const has = await strapi.db.query('plugin::users-permissions.permission').findOne({ where: { action, role: role.id } });
      if (!has) await strapi.db.query('plugin::users-permissions.permission').create({ data: { action, role: role.id } });
    }
  },
};
