// The test app's plugins: users-permissions in the jwtManagement mode the
// test asks for (JWT_MANAGEMENT), and refreshing exactly as its README says.
module.exports = ({ env }) => {
  const plugins = {
    'users-permissions': {
      config: {
        jwtManagement: env('JWT_MANAGEMENT', 'refresh'),
      },
    },
    refreshing: { enabled: true, config: { url: env('REFRESHING_URL'), secret: env('REFRESHING_BRIDGE_SECRET') } },
  };
  // E2E_BEFORE_CUTOVER=true: the app as it was before Refreshing, without the
  // plugin (for tests of what carries over at the cutover).
  if (env.bool('E2E_BEFORE_CUTOVER', false)) plugins.refreshing = { enabled: false };
  return plugins;
};
