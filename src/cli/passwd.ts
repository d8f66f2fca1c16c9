// megafs passwd: change the password. Only the drive header changes (the master key is
// rewrapped under the new password with a fresh salt); nothing else is re-encrypted.
import { saveLocalDrive } from '../drive/local-drive.js';
import { newKdfParams, wrapMasterKey } from '../crypto/keys.js';
import { kdfCost } from '../drive/open.js';
import { getPassword, passwordFromEnvOrFile } from '../drive/password.js';
import { specKind } from '../drive/stores.js';
import { encodeHeader } from '../format/header.js';
import { nodePlatform } from '../platform/node.js';
import { MegafsError } from '../errors.js';
import { parse } from './args.js';
import { withDrive } from './session.js';

// The new password: --new-password-file, MEGAFS_NEW_PASSWORD, or asked twice. With
// --recovery-key-file the recovery key shown at init stands in for a forgotten password.
const USAGE = 'megafs passwd [--password-file F | --recovery-key-file F] [--new-password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ 'password-file'?: string; 'new-password-file'?: string; 'recovery-key-file'?: string }>(argv, USAGE, {
    'password-file': { type: 'string' }, 'new-password-file': { type: 'string' }, 'recovery-key-file': { type: 'string' },
  });
  const recovery = values['recovery-key-file'];
  const unlock = recovery === undefined ? { passwordFile: values['password-file'] } : { recoveryKey: await readRecoveryKey(recovery) };
  await withDrive(unlock, async (drive, cfg, paths) => {
    if (cfg.stores.some((s) => specKind(s) === 'http')) {
      throw new MegafsError('E_USAGE', 'changing the password of a drive on megafs serve is not supported yet');
    }
    const password = await getPassword(
      { passwordFile: values['new-password-file'], envVar: 'MEGAFS_NEW_PASSWORD' },
      { confirm: true, what: 'New password' },
    );
    const { header } = await wrapMasterKey(nodePlatform, drive.keys.masterKey, drive.header.driveId, password, newKdfParams(nodePlatform, kdfCost()));
    const bytes = encodeHeader(header);
    for (const s of drive.stores) await s.putHeader(bytes);
    // This machine's copy opens with the new password too (an offline start).
    await saveLocalDrive(paths, cfg, { driveId: drive.header.driveId, header: bytes });
  });
  process.stdout.write('Password changed.\n');
  return 0;
}

/** The recovery key from a file (its first line), or '-' for a hidden prompt. */
async function readRecoveryKey(file: string): Promise<string> {
  if (file === '-') return getPassword({ envVar: 'MEGAFS_RECOVERY_KEY' }, { what: 'Recovery key' });
  return (await passwordFromEnvOrFile({ passwordFile: file })) ?? '';
}
