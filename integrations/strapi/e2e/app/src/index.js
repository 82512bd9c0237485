'use strict';

// The test app's only code: its authenticated role may call the article
// routes (as an administrator would allow on the Roles screen); the public
// role may not, so these routes are permission-protected.
const ACTIONS = ['api::article.article.whoami', 'api::article.article.find', 'api::article.article.create'];

module.exports = {
  register() {},
  async bootstrap({ strapi }) {
    const role = await strapi.db.query('plugin::users-permissions.role').findOne({ where: { type: 'authenticated' } });
    for (const action of ACTIONS) {
      const has = await strapi.db.query('plugin::users-permissions.permission').findOne({ where: { action, role: role.id } });
      if (!has) await strapi.db.query('plugin::users-permissions.permission').create({ data: { action, role: role.id } });
    }
  },
};
