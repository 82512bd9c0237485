-- A Strapi v4 database as Strapi creates it on SQLite (users-permissions and
-- the "refreshing" plugin), with dates as JavaScript millisecond timestamps.
-- Passwords: grace-strapi-pw, linus-strapi-pw, blocked-strapi-pw.
CREATE TABLE `up_roles` (`id` integer not null primary key autoincrement, `name` varchar(255), `description` varchar(255), `type` varchar(255), `created_at` datetime, `updated_at` datetime, `created_by_id` integer, `updated_by_id` integer);
CREATE TABLE `up_users` (`id` integer not null primary key autoincrement, `username` varchar(255), `email` varchar(255), `provider` varchar(255), `password` varchar(255), `reset_password_token` varchar(255), `confirmation_token` varchar(255), `confirmed` boolean, `blocked` boolean, `created_at` datetime, `updated_at` datetime, `created_by_id` integer, `updated_by_id` integer);
CREATE TABLE `up_users_role_links` (`id` integer not null primary key autoincrement, `user_id` integer, `role_id` integer, `user_order` float);
CREATE TABLE `refresh-tokens` (`id` integer not null primary key autoincrement, `token` varchar(255), `description` varchar(255), `user_agent` varchar(255), `ip` varchar(255), `expires_at` datetime, `last_activity` datetime, `created_at` datetime, `updated_at` datetime, `created_by_id` integer, `updated_by_id` integer);
CREATE TABLE `refresh-tokens_user_links` (`id` integer not null primary key autoincrement, `refresh_token_id` integer, `user_id` integer);

INSERT INTO up_roles VALUES (1, 'Authenticated', 'Default role given to authenticated user.', 'authenticated', 1675853412345, 1675853412345, NULL, NULL);
INSERT INTO up_roles VALUES (2, 'Public', 'Default role given to unauthenticated user.', 'public', 1675853412345, 1675853412345, NULL, NULL);
INSERT INTO up_roles VALUES (3, 'Editor', 'Editors', 'editor', 1675853412345, 1675853412345, NULL, NULL);

INSERT INTO up_users VALUES (3, 'grace', 'Grace@Example.com', 'local', '$2a$04$ehyNv706pJmGP4guno8WM.mwFLlpS/9aTrW0SB2exk4HP.TtwiRFW', NULL, NULL, 1, 0, 1675853412345, 1696258338123, NULL, NULL);
INSERT INTO up_users VALUES (7, 'linus', 'linus@example.com', 'local', '$2a$04$84euzxcoB2KTNjRu9Wvp4.9fErWdMzi1mXusR5AOlIYedc1MFHwsO', NULL, 'abc', 0, 0, 1675853413000, 1675853413000, NULL, NULL);
INSERT INTO up_users VALUES (9, 'mallory', 'mallory@example.com', 'local', '$2a$04$4pHe/.XubE7vFg36WXOLzeyc7hwaewltKXgQdJS2SkxlA.qXrKI2q', NULL, NULL, 1, 1, 1675853414000, 1675853414000, NULL, NULL);
INSERT INTO up_users VALUES (11, 'oauthie', 'oauthie@example.com', 'google', NULL, NULL, NULL, 1, 0, 1675853415000, 1675853415000, NULL, NULL);

INSERT INTO up_users_role_links VALUES (1, 3, 3, 1);
INSERT INTO up_users_role_links VALUES (2, 7, 1, 1);
INSERT INTO up_users_role_links VALUES (3, 9, 1, 2);

INSERT INTO `refresh-tokens` VALUES (1, '2f1c4d3e-5b6a-4c7d-8e9f-0a1b2c3d4e5f', 'Refresh Token', 'okhttp/4.9.3', '203.0.113.9', NULL, 1696258338000, 1690000000000, 1696258338000, NULL, NULL);
INSERT INTO `refresh-tokens` VALUES (2, '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', 'iPad', 'CFNetwork/1410', '198.51.100.20', NULL, 1696258339000, 1690000001000, 1696258339000, NULL, NULL);
INSERT INTO `refresh-tokens` VALUES (3, 'e0e0e0e0-0000-4000-8000-000000000001', 'old', 'curl/8.0', '192.0.2.1', 1600000000000, 1599999999000, 1590000000000, 1599999999000, NULL, NULL);
INSERT INTO `refresh-tokens` VALUES (4, 'ffffffff-0000-4000-8000-0000000000ff', 'orphan', 'curl/8.0', '192.0.2.1', NULL, 1696258339000, 1690000001000, 1696258339000, NULL, NULL);

INSERT INTO `refresh-tokens_user_links` VALUES (1, 1, 3);
INSERT INTO `refresh-tokens_user_links` VALUES (2, 2, 7);
INSERT INTO `refresh-tokens_user_links` VALUES (3, 3, 3);
