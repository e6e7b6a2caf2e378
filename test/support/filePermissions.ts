/**
 * Who can read an uploaded file. The Docker provider's uploads without owner/group land root:root
 * (uid and gid 0 from the tar header), so read access follows from the mode and the process's user.
 */
export interface ProcessUser {
  uid: number;
  gid: number;
}

export function parseUser(user: string): ProcessUser {
  const [uid, gid] = user.split(":").map(Number);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`user "${user}" is not numeric uid:gid`);
  return { uid: uid!, gid: gid! };
}

/** POSIX read permission of a root:root file of this octal mode for a process. */
export function canReadRootOwned(mode: string, process: ProcessUser): boolean {
  const bits = parseInt(mode, 8);
  if (process.uid === 0) return true;
  if (process.gid === 0) return (bits & 0o040) !== 0;
  return (bits & 0o004) !== 0;
}

/** Any user of the container that is neither root nor in group 0. */
export const OTHER_USER: ProcessUser = { uid: 4242, gid: 4242 };
