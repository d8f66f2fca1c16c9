// What share, shares and unshare need: the unlocked drive, its `megafs serve` store (links
// need one: the server is what serves them), the owner's share API on it, and this
// machine's sealed list of links. A drive on local directories or S3 only gets a clear
// E_USAGE that says so.
import { join } from 'node:path';
import { stretchPassword } from '../crypto/kdf.js';
import { homePaths, type DriveConfig, type HomePaths } from '../drive/config.js';
import { unlockDrive, type Drive } from '../drive/open.js';
import { getPassword } from '../drive/password.js';
import { accountKdf, openStore, specKind } from '../drive/stores.js';
import { MegafsError } from '../errors.js';
import { nodePlatform } from '../platform/node.js';
import { httpShareApi, type ShareApi } from '../share/api.js';
import { loadLocalShares, saveLocalShares, type LocalShare } from '../share/local.js';
import { bearer } from '../store/http-client.js';
import type { Store } from '../store/store.js';
import { requireConfig } from './session.js';

export const log = (line: string): void => { process.stderr.write(`${line}\n`); };

export interface ShareSession {
  drive: Drive;
  cfg: DriveConfig;
  paths: HomePaths;
  /** The `megafs serve` store the links are served from (share chunks go there). */
  serveStore: Store;
  api: ShareApi;
  loadLocal(): Promise<LocalShare[]>;
  saveLocal(shares: LocalShare[]): Promise<void>;
}

export async function withShareSession<T>(drivePasswordFile: string | undefined, work: (s: ShareSession) => Promise<T>): Promise<T> {
  const paths = homePaths();
  const cfg = await requireConfig(paths);
  const url = cfg.stores.find((s) => specKind(s) === 'http');
  if (!url) {
    throw new MegafsError('E_USAGE', `links need a megafs serve store, and this drive is on ${cfg.stores.join(', ')} only: `
      + 'a link is served by `megafs serve` (add one with megafs init/login --store https://HOST:PORT)');
  }
  const password = await getPassword({ passwordFile: drivePasswordFile });
  const drive = await unlockDrive(cfg, password, { log, paths });
  let serveStore: Store | null = null;
  try {
    const kdf = await accountKdf(cfg.stores, cfg.user);
    const { authSecret } = await stretchPassword(password, kdf!);
    serveStore = await openStore(url, { user: cfg.user, authSecret });
    const file = join(paths.state, drive.header.driveId, 'shares.sealed');
    return await work({
      drive, cfg, paths, serveStore,
      api: httpShareApi(url.replace(/\/+$/, ''), bearer(cfg.user!, authSecret)),
      loadLocal: () => loadLocalShares(nodePlatform, drive.keys.journal, file),
      saveLocal: (s) => saveLocalShares(nodePlatform, drive.keys.journal, file, s),
    });
  } finally {
    await serveStore?.close();
    await drive.close();
  }
}
