// megafs passwd: change the password. Only the drive header changes (the master key is
// rewrapped under the new password with a fresh salt); nothing else is re-encrypted.
import { newKdfParams, wrapMasterKey } from '../crypto/keys.js';
import { kdfCost } from '../drive/open.js';
import { getPassword } from '../drive/password.js';
import { specKind } from '../drive/stores.js';
import { encodeHeader } from '../format/header.js';
import { nodePlatform } from '../platform/node.js';
import { MegafsError } from '../errors.js';
import { parse } from './args.js';
import { withDrive } from './session.js';

// The new password: --new-password-file, MEGAFS_NEW_PASSWORD, or asked twice.
const USAGE = 'megafs passwd [--password-file F] [--new-password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ 'password-file'?: string; 'new-password-file'?: string }>(argv, USAGE, {
    'password-file': { type: 'string' }, 'new-password-file': { type: 'string' },
  });
  await withDrive(values['password-file'], async (drive, cfg) => {
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
  });
  process.stdout.write('Password changed.\n');
  return 0;
}
