'use strict';

// Articles, plus `whoami`: a permission-protected route that answers with
// ctx.state.user, the user Strapi believes the caller to be.
const { factories } = require('@strapi/strapi');

module.exports = factories.createCoreController('api::article.article', () => ({
  async whoami(ctx) {
    const u = ctx.state.user;
    ctx.body = { id: u.id, documentId: u.documentId, username: u.username, email: u.email, role: u.role && u.role.type };
  },
  async create(ctx) {
    // The owner is whoever Strapi believes is calling.
    ctx.request.body = { data: { ...(ctx.request.body && ctx.request.body.data), owner: ctx.state.user.email } };
    return super.create(ctx);
  },
}));
