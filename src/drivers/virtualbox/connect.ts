import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MachineError } from '../../core/errors.js';
import { readIfExists, writeFileAtomic } from '../../core/files.js';
import type { DriverEnv } from '../driver.js';
import type { VBoxBackend } from './backend.js';
import type { VirtualBoxConfig } from './driver.js';
import type { System } from '../../core/system.js';
import { findSibling, findVBoxManage } from './hostenv.js';
import { type SoapTarget, sharedSoapConnection, soapTarget } from './soap/transport.js';
import { SoapBackend } from './soap/vm.js';
import { VBoxManage, VBoxManageBackend } from './vboxmanage.js';
import { ownLogin } from './weblogin.js';
import { ownWebServiceAvoided, startOwnWebService } from './websrv.js';

/**
 * How a driver reaches VirtualBox (--virtualbox-api): through VBoxManage, or through the web service
 * at --virtualbox-soap-url or our own vboxwebsrv. Each is found, started or logged on to on first use.
 */
export class VBoxConnector {
  private backendPromise: Promise<VBoxBackend> | undefined;
  private vbmPromise: Promise<VBoxManage> | undefined;
  /** A password that came in SoapURL, until makeBackend has written it to its file. */
  private soapPassword: string | undefined;

  constructor(
    private readonly config: VirtualBoxConfig,
    private readonly host: System,
    private readonly env: DriverEnv,
    /** A ready backend (tests); otherwise made from the config on first use. */
    backend?: VBoxBackend,
  ) {
    if (backend) this.backendPromise = Promise.resolve(backend);
    this.takeSoapCredentials();
  }

  /**
   * Credentials never stay in config.json (machine inspect prints it): the user goes to SoapUser, the
   * password to a 0600 file. Done here, so a config made from the flags and a config.json written
   * before this rule are handled alike; the config is saved by whatever command saves it next.
   */
  private takeSoapCredentials(): void {
    const url = this.config.SoapURL;
    if (!url || !URL.canParse(url)) return;
    const u = new URL(url);
    if (!u.username && !u.password) return;
    this.config.SoapUser = decodeURIComponent(u.username);
    if (u.password) this.soapPassword = decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    this.config.SoapURL = u.toString();
  }

  private get soapPasswordFile(): string {
    return path.join(this.env.machineDir, 'soap-password');
  }

  vboxManage(): Promise<VBoxManage> {
    this.vbmPromise ??= findVBoxManage(this.host, this.config.VBoxManagePath || undefined).then(
      (d) => new VBoxManage(d.path, this.host.exec),
    );
    return this.vbmPromise;
  }

  backend(): Promise<VBoxBackend> {
    this.backendPromise ??= this.makeBackend().catch((err) => {
      this.backendPromise = undefined;
      throw err;
    });
    return this.backendPromise;
  }

  private async makeBackend(): Promise<VBoxBackend> {
    // Without a URL of its own, a process that must not start a web service works through VBoxManage.
    if (this.config.API !== 'soap' || (!this.config.SoapURL && ownWebServiceAvoided()))
      return new VBoxManageBackend(await this.vboxManage());
    const vbm = await this.vboxManage().catch(() => undefined);
    const target = this.config.SoapURL ? await this.givenSoapTarget(this.config.SoapURL) : await this.ownSoapTarget(vbm);
    return new SoapBackend(() => sharedSoapConnection(target), vbm);
  }

  /** --virtualbox-soap-url, with the password from its file (written there on first use). */
  private async givenSoapTarget(url: string): Promise<SoapTarget> {
    if (this.soapPassword !== undefined) {
      await fs.mkdir(this.env.machineDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.soapPasswordFile, this.soapPassword, 0o600);
      this.soapPassword = undefined;
    }
    const password = (await readIfExists(this.soapPasswordFile))?.replace(/\r?\n$/, '');
    return soapTarget(url, { username: this.config.SoapUser, password });
  }

  /** Our own vboxwebsrv, logged on to with this store's secret. */
  private async ownSoapTarget(vbm: VBoxManage | undefined): Promise<SoapTarget> {
    const websrv = vbm ? await findSibling(this.host, vbm.file, 'vboxwebsrv', 'VBOX_WEBSRV') : this.host.env.VBOX_WEBSRV;
    if (!websrv) {
      throw new MachineError('vboxwebsrv (the VirtualBox web service) was not found', {
        exitCode: 3,
        fix: 'install VirtualBox with its web service, set VBOX_WEBSRV to it, give --virtualbox-soap-url, or use --virtualbox-api vboxmanage',
      });
    }
    if (!vbm) {
      throw new MachineError('VBoxManage was not found: it sets the password of our VirtualBox web service', {
        exitCode: 3,
        fix: 'install VirtualBox (or set VBOX_MANAGE), give --virtualbox-soap-url, or use --virtualbox-api vboxmanage',
      });
    }
    const [service, login] = await Promise.all([startOwnWebService(websrv, vbm), ownLogin(vbm, this.env.store.root)]);
    return { endpoint: service.url, ...login };
  }
}
