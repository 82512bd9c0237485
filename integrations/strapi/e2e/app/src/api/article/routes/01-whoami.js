'use strict';

module.exports = {
  routes: [{ method: 'GET', path: '/articles-whoami', handler: 'article.whoami' }],
};
