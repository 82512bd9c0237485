// The test app's plugins: users-permissions in the jwtManagement mode the
// test asks for (JWT_MANAGEMENT), and refreshing exactly as its README says.
module.exports = ({ env }) => ({
  'users-permissions': {
    config: {
      jwtManagement: env('JWT_MANAGEMENT', 'refresh'),
    },
  },
  refreshing: { enabled: true, config: { url: env('REFRESHING_URL'), secret: env('REFRESHING_BRIDGE_SECRET') } },
});
