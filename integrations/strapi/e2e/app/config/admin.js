module.exports = ({ env }) => ({
  auth: {
    secret: env('ADMIN_JWT_SECRET'),
  },
  apiToken: {
    salt: env('API_TOKEN_SALT'),
  },
  transfer: {
    token: {
      salt: env('TRANSFER_TOKEN_SALT'),
    },
  },
  secrets: {
    encryptionKey: env('ENCRYPTION_KEY'),
  },
  // The tests use the admin API (content-manager) only: no admin panel is
  // built or served, which saves minutes.
  serveAdminPanel: false,
  flags: {
    nps: false,
    promoteEE: false,
  },
});
