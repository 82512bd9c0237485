-- A Strapi v5 database as Strapi creates it on SQLite (users-permissions and
-- the "refreshing" plugin): document ids, published_at, _lnk link tables,
-- dates as text. Passwords: grace-strapi-pw, linus-strapi-pw, blocked-strapi-pw.
CREATE TABLE `up_roles` (`id` integer not null primary key autoincrement, `document_id` varchar(255) null, `name` varchar(255) null, `description` varchar(255) null, `type` varchar(255) null, `created_at` datetime null, `updated_at` datetime null, `published_at` datetime null, `created_by_id` integer null, `updated_by_id` integer null, `locale` varchar(255) null);
CREATE TABLE `up_users` (`id` integer not null primary key autoincrement, `document_id` varchar(255) null, `username` varchar(255) null, `email` varchar(255) null, `provider` varchar(255) null, `password` varchar(255) null, `reset_password_token` varchar(255) null, `confirmation_token` varchar(255) null, `confirmed` boolean null, `blocked` boolean null, `created_at` datetime null, `updated_at` datetime null, `published_at` datetime null, `created_by_id` integer null, `updated_by_id` integer null, `locale` varchar(255) null);
CREATE TABLE `up_users_role_lnk` (`id` integer not null primary key autoincrement, `user_id` integer null, `role_id` integer null, `user_ord` float null);
CREATE TABLE `refresh-tokens` (`id` integer not null primary key autoincrement, `document_id` varchar(255) null, `token` varchar(255) null, `description` varchar(255) null, `user_agent` varchar(255) null, `ip` varchar(255) null, `expires_at` datetime null, `last_activity` datetime null, `created_at` datetime null, `updated_at` datetime null, `published_at` datetime null, `created_by_id` integer null, `updated_by_id` integer null, `locale` varchar(255) null);
CREATE TABLE `refresh-tokens_user_lnk` (`id` integer not null primary key autoincrement, `refresh_token_id` integer null, `user_id` integer null);

INSERT INTO up_roles VALUES (1, 'r1authenticated00000000000', 'Authenticated', 'Default role given to authenticated user.', 'authenticated', '2024-10-01 10:00:00.000', '2024-10-01 10:00:00.000', '2024-10-01 10:00:00.000', NULL, NULL, NULL);
INSERT INTO up_roles VALUES (3, 'r3editor000000000000000000', 'Editor', 'Editors', 'editor', '2024-10-01 10:00:00.000', '2024-10-01 10:00:00.000', '2024-10-01 10:00:00.000', NULL, NULL, NULL);

-- grace has a draft row (published_at NULL) beside her published one, as
-- Strapi 5's document service can leave; the published one is the user.
INSERT INTO up_users VALUES (3, 'k9x2m4n6b8v0c1z3l5j7h9g2', 'grace', 'grace@example.com', 'local', '$2a$04$ehyNv706pJmGP4guno8WM.mwFLlpS/9aTrW0SB2exk4HP.TtwiRFW', NULL, NULL, 1, 0, '2024-10-02 08:30:00.123', '2025-01-05 09:00:00.000', '2024-10-02 08:30:00.123', NULL, NULL, NULL);
INSERT INTO up_users VALUES (4, 'k9x2m4n6b8v0c1z3l5j7h9g2', 'grace-draft', 'grace-draft@example.com', 'local', '$2a$04$ehyNv706pJmGP4guno8WM.mwFLlpS/9aTrW0SB2exk4HP.TtwiRFW', NULL, NULL, 1, 0, '2024-10-02 08:30:00.123', '2025-01-05 09:00:00.000', NULL, NULL, NULL, NULL);
INSERT INTO up_users VALUES (7, 'p0o9i8u7y6t5r4e3w2q1a2s3', 'linus', 'linus@example.com', 'local', '$2a$04$84euzxcoB2KTNjRu9Wvp4.9fErWdMzi1mXusR5AOlIYedc1MFHwsO', NULL, NULL, 1, 0, '2024-10-03 08:30:00.000', '2024-10-03 08:30:00.000', '2024-10-03 08:30:00.000', NULL, NULL, NULL);
INSERT INTO up_users VALUES (9, 'm1m2m3m4m5m6m7m8m9m0m1m2', 'mallory', 'mallory@example.com', 'local', '$2a$04$4pHe/.XubE7vFg36WXOLzeyc7hwaewltKXgQdJS2SkxlA.qXrKI2q', NULL, NULL, 1, 1, '2024-10-04 08:30:00.000', '2024-10-04 08:30:00.000', '2024-10-04 08:30:00.000', NULL, NULL, NULL);

INSERT INTO up_users_role_lnk VALUES (1, 3, 3, 1);
INSERT INTO up_users_role_lnk VALUES (2, 7, 1, 1);
INSERT INTO up_users_role_lnk VALUES (3, 9, 1, 2);

INSERT INTO `refresh-tokens` VALUES (1, 'd1', '2f1c4d3e-5b6a-4c7d-8e9f-0a1b2c3d4e5f', 'Refresh Token', 'okhttp/4.9.3', '203.0.113.9', NULL, '2025-01-05 09:00:00.000', '2024-12-01 09:00:00.000', '2025-01-05 09:00:00.000', '2024-12-01 09:00:00.000', NULL, NULL, NULL);
INSERT INTO `refresh-tokens` VALUES (2, 'd2', '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', 'iPad', 'CFNetwork/1410', '198.51.100.20', '2099-01-01 00:00:00.000', '2025-01-06 09:00:00.000', '2024-12-02 09:00:00.000', '2025-01-06 09:00:00.000', '2024-12-02 09:00:00.000', NULL, NULL, NULL);
INSERT INTO `refresh-tokens` VALUES (3, 'd3', 'e0e0e0e0-0000-4000-8000-000000000001', 'old', 'curl/8.0', '192.0.2.1', '2020-09-13 12:26:40.000', '2020-09-13 12:26:39.000', '2020-05-20 18:40:00.000', '2020-09-13 12:26:39.000', '2020-05-20 18:40:00.000', NULL, NULL, NULL);

INSERT INTO `refresh-tokens_user_lnk` VALUES (1, 1, 3);
INSERT INTO `refresh-tokens_user_lnk` VALUES (2, 2, 7);
INSERT INTO `refresh-tokens_user_lnk` VALUES (3, 3, 3);
