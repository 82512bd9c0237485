// The link between Refreshing's users and Strapi's: one row per user of
// plugin::refreshing.link, {subject, subjectDocumentId, userId,
// userDocumentId}. A token names the Strapi user its subject is linked to,
// and no other: never the Strapi user that happens to have the same numeric
// id. Both ends are checked by their document ids too, so that a numeric id
// ever reused on either side does not carry a link over to another person.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { RemoteUser } from './refreshing';
import type { Strapi } from './strapi';

export const LINK_UID = 'plugin::refreshing.link';
export const USER_UID = 'plugin::users-permissions.user';
export const ROLE_UID = 'plugin::users-permissions.role';

/** The link content type (hidden from the admin's builders). */
export const linkSchema = {
  kind: 'collectionType',
  collectionName: 'refreshing_links',
  info: { singularName: 'link', pluralName: 'links', displayName: 'Refreshing link' },
  options: { draftAndPublish: false },
  pluginOptions: { 'content-manager': { visible: false }, 'content-type-builder': { visible: false } },
  attributes: {
    subject: { type: 'string', required: true, unique: true, configurable: false },
    // Refreshing's document id of the subject: should Refreshing ever give
    // the same numeric id to another person, the link is not followed.
    subjectDocumentId: { type: 'string', configurable: false },
    userId: { type: 'integer', required: true, unique: true, configurable: false },
    userDocumentId: { type: 'string', required: true, configurable: false },
  },
};

/**
 * fromRefreshing marks work done on Refreshing's behalf (a profile it sent),
 * which the user lifecycles must not push back to it.
 */
export const fromRefreshing = new AsyncLocalStorage<boolean>();

/** A refusal to link or create a profile. */
export class ProfileError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Attributes of Strapi's user that only the authority (Refreshing) sets. */
const RESERVED = new Set([
  'id', 'documentId', 'username', 'email', 'password', 'provider', 'role', 'confirmed', 'blocked',
  'resetPasswordToken', 'confirmationToken', 'createdAt', 'updatedAt', 'publishedAt', 'createdBy',
  'updatedBy', 'locale', 'localizations',
]);
const NOT_SCALAR = new Set(['relation', 'media', 'component', 'dynamiczone', 'password']);

/** customFields keeps the fields Strapi's user schema has as custom scalar attributes; others are refused. */
export function customFields(strapi: Strapi, fields: Record<string, unknown>): Record<string, unknown> {
  const attrs = strapi.getModel(USER_UID).attributes;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    const a = attrs[k];
    if (!a || RESERVED.has(k) || a.private || NOT_SCALAR.has(a.type)) {
      throw new ProfileError(400, `Invalid parameters: ${k}`, k);
    }
    out[k] = v;
  }
  return out;
}

/** defaultRole returns the id of the role users-permissions gives new users. */
async function defaultRole(strapi: Strapi): Promise<number> {
  const advanced = await strapi.store({ type: 'plugin', name: 'users-permissions' }).get({ key: 'advanced' });
  const type = (advanced && advanced.default_role) || 'authenticated';
  const role = await strapi.db.query(ROLE_UID).findOne({ where: { type } });
  if (!role) throw new ProfileError(500, `users-permissions has no role ${type}`);
  return role.id;
}

/**
 * linkedUser returns the Strapi user linked to sub, or undefined; a stale
 * link is removed. subjectDocumentId, when known, is Refreshing's document
 * id for sub: a link made for another document id is someone else's.
 */
export async function linkedUser(strapi: Strapi, sub: string, subjectDocumentId?: string): Promise<any | undefined> {
  const link = await strapi.db.query(LINK_UID).findOne({ where: { subject: sub } });
  if (!link) return undefined;
  if (subjectDocumentId && link.subjectDocumentId && link.subjectDocumentId !== subjectDocumentId) {
    strapi.log.warn(`refreshing: Refreshing's user ${sub} is not the person linked to Strapi user ${link.userId} (another document id); the link is removed`);
    await strapi.db.query(LINK_UID).delete({ where: { id: link.id } });
    return undefined;
  }
  const user = await strapi.db.query(USER_UID).findOne({ where: { id: link.userId }, populate: ['role'] });
  if (user && user.documentId === link.userDocumentId) return user;
  // The Strapi user is gone (or the row id now belongs to someone else):
  // the link is dead, never followed to another person.
  await strapi.db.query(LINK_UID).delete({ where: { id: link.id } });
  return undefined;
}

/** subjectOf returns the subject linked to a Strapi user id, or undefined. */
export async function subjectOf(strapi: Strapi, userId: number): Promise<string | undefined> {
  const link = await strapi.db.query(LINK_UID).findOne({ where: { userId } });
  return link ? String(link.subject) : undefined;
}

/**
 * linkOf returns the link record of Strapi user u, or undefined. A link made
 * for another document id (the row id now someone else's) is removed.
 */
export async function linkOf(strapi: Strapi, u: { id: number; documentId: string }): Promise<{ subject: string; subjectDocumentId?: string } | undefined> {
  const l = await strapi.db.query(LINK_UID).findOne({ where: { userId: u.id } });
  if (!l) return undefined;
  if (l.userDocumentId !== u.documentId) {
    await strapi.db.query(LINK_UID).delete({ where: { id: l.id } });
    return undefined;
  }
  return { subject: String(l.subject), subjectDocumentId: l.subjectDocumentId ?? undefined };
}

/** link records that sub (whose document id at Refreshing is subjectDocumentId) is the Strapi user u. */
export async function link(strapi: Strapi, sub: string, u: { id: number; documentId: string }, subjectDocumentId: string): Promise<void> {
  await strapi.db.query(LINK_UID).create({ data: { subject: sub, subjectDocumentId, userId: u.id, userDocumentId: u.documentId } });
}

const creating = new Map<string, Promise<any>>();

/**
 * ensureProfile returns the Strapi user of Refreshing's user ru, creating
 * (and linking) it when there is none, with custom fields. An unlinked
 * Strapi user is adopted only when its documentId is the one Refreshing
 * keeps for ru (users brought over by `refreshing import strapi` keep
 * theirs); a Strapi user with ru's email or username and another documentId
 * is someone else, and the profile is refused (409).
 */
export function ensureProfile(strapi: Strapi, ru: RemoteUser, fields: Record<string, unknown> = {}, update = false): Promise<any> {
  const sub = String(ru.id);
  let p = creating.get(sub);
  if (!p) {
    p = fromRefreshing.run(true, () => ensure(strapi, sub, ru, fields, update)).finally(() => creating.delete(sub));
    creating.set(sub, p);
  }
  return p;
}

async function ensure(strapi: Strapi, sub: string, ru: RemoteUser, fields: Record<string, unknown>, update: boolean): Promise<any> {
  const custom = customFields(strapi, fields);
  const users = strapi.db.query(USER_UID);
  const existing = await linkedUser(strapi, sub, ru.documentId);
  if (existing) {
    if (update) {
      await users.update({
        where: { id: existing.id },
        data: { ...custom, username: ru.username, email: ru.email, confirmed: ru.confirmed, blocked: ru.blocked },
      });
    }
    return users.findOne({ where: { id: existing.id }, populate: ['role'] });
  }
  if (ru.documentId) {
    const same = await users.findOne({ where: { documentId: ru.documentId } });
    if (same && !(await subjectOf(strapi, same.id))) {
      await link(strapi, sub, same, ru.documentId);
      if (Object.keys(custom).length > 0) await users.update({ where: { id: same.id }, data: custom });
      return users.findOne({ where: { id: same.id }, populate: ['role'] });
    }
  }
  const clash = await users.findOne({ where: { $or: [{ email: ru.email.toLowerCase() }, { username: ru.username }] } });
  if (clash) {
    strapi.log.warn(`refreshing: Refreshing user ${sub} has the email or username of Strapi user ${clash.id}, which is linked to someone else or to no one; not linked`);
    throw new ProfileError(409, 'Email or Username are already taken');
  }
  const created = await strapi.documents(USER_UID).create({
    data: {
      ...custom,
      username: ru.username,
      email: ru.email.toLowerCase(),
      provider: 'local',
      confirmed: ru.confirmed,
      blocked: ru.blocked,
      role: await defaultRole(strapi),
    },
  });
  const row = await users.findOne({ where: { documentId: created.documentId } });
  await link(strapi, sub, row, ru.documentId);
  return users.findOne({ where: { id: row.id }, populate: ['role'] });
}
