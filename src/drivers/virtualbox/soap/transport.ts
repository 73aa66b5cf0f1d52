import type * as VB from 'virtualbox-soap';
import { MachineError } from '../../../core/errors.js';
import { poll } from '../../../core/wait.js';
import { errorKind, VBoxError } from '../backend.js';
import { parseVersion, type VBoxVersion } from '../parse.js';
import { en } from './enums.js';

/**
 * The web service's transport: virtualbox-soap loaded on first use (parsing its WSDL takes about a
 * second), one logged-on web session per endpoint and process, raw SOAP calls for what the package
 * does not know, and VirtualBox's errors and progress objects as VBoxError.
 */

export type Soap = typeof VB;

/** The managed object reference behind a wrapper object. */
export function ref(obj: unknown): string {
  return (obj as { __object: string }).__object;
}

export function clientOf(obj: unknown): unknown {
  return (obj as { __client: unknown }).__client;
}

/**
 * virtualbox-soap's plain getters read `__result.returnval` and throw a TypeError when VirtualBox
 * returns an empty value (no redirects, no host-only interface, an empty string): that is the default.
 */
export async function opt<T>(p: Promise<T>, dflt: T): Promise<T> {
  try {
    return (await p) ?? dflt;
  } catch (err) {
    if (err instanceof TypeError && /returnval/.test(err.message)) return dflt;
    throw err;
  }
}

let soapModule: Promise<Soap> | undefined;
export function loadSoap(): Promise<Soap> {
  soapModule ??= import('virtualbox-soap').then((m) => ((m as unknown as { default?: Soap }).default ?? m) as Soap);
  return soapModule;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export class SoapFault extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'SoapFault';
  }
}

/** One SOAP operation the bundled WSDL does not describe; returns the <returnval> texts. */
export async function rawCall(
  endpoint: string,
  op: string,
  args: [string, string | number | boolean][],
  opts: { timeoutMs?: number } = {},
): Promise<string[]> {
  const body = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('');
  const envelope =
    '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:vbox="http://www.virtualbox.org/">' +
    `<soap:Body><vbox:${op}>${body}</vbox:${op}></soap:Body></soap:Envelope>`;
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    body: envelope,
    signal: opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined,
  });
  const text = await res.text();
  // A fault may have no faultstring (vboxwebsrv's refused logon): its faultcode then.
  const fault = /<faultstring>([\s\S]*?)<\/faultstring>/.exec(text) ?? /<faultcode>([\s\S]*?)<\/faultcode>/.exec(text);
  if (fault) {
    const message = xmlUnescape(fault[1]!);
    const code = /rc=0x([0-9a-f]{8})/.exec(message);
    throw new SoapFault(message, code ? parseInt(code[1]!, 16) : undefined);
  }
  return [...text.matchAll(/<returnval>([\s\S]*?)<\/returnval>/g)].map((m) => xmlUnescape(m[1]!));
}

export interface SoapTarget {
  /** Endpoint without credentials. */
  endpoint: string;
  username: string;
  password: string;
}

/** url with everything up to its last "@" (user:password) replaced by ***, for messages; also when url does not parse. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_m, scheme?: string) => `${scheme ?? ''}***@`);
}

/**
 * Split "http://user:pass@host:18083/" (creds, when given, replace what the URL says) and refuse an
 * unauthenticated remote service. The endpoint never carries credentials: it is what messages show.
 */
export function soapTarget(url: string, creds?: { username?: string; password?: string }): SoapTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MachineError(`--virtualbox-soap-url ${redactUrl(url)} is not a URL`, { fix: 'give it as http://127.0.0.1:18083/' });
  }
  const username = creds?.username || decodeURIComponent(u.username);
  const password = creds?.password ?? decodeURIComponent(u.password);
  const loopback = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(u.hostname);
  if (!loopback && !username) {
    throw new MachineError(`The VirtualBox web service at ${u.host} is not on this machine and no credentials were given`, {
      fix: 'put the host account in the URL (http://user:password@host:18083/); never run vboxwebsrv without authentication on a network address',
    });
  }
  u.username = '';
  u.password = '';
  return { endpoint: u.toString(), username, password };
}

/** A logged-on web session; one per endpoint per process. */
export class SoapConnection {
  private sessionChain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly soap: Soap,
    readonly endpoint: string,
    readonly wsm: VB.IWebsessionManager,
    readonly vbox: VB.IVirtualBox,
    readonly api: { major: number; minor: number },
    readonly version: VBoxVersion,
  ) {}

  static async open(target: SoapTarget): Promise<SoapConnection> {
    const soap = await loadSoap();
    let wsm: VB.IWebsessionManager;
    let vbox: VB.IVirtualBox;
    try {
      wsm = await soap.connect(target.endpoint);
      vbox = await wsm.logon(target.username, target.password);
    } catch (err) {
      // No `cause`: the soap error holds the request, password included (and Node prints causes).
      const said = (err as Error).message;
      if (/^SOAP-ENV:Client\b/.test(said)) {
        throw new MachineError(`The VirtualBox web service at ${target.endpoint} refused the logon of user "${target.username}"`, {
          fix: 'check the user and password (--virtualbox-soap-url http://user:password@host:18083/)',
        });
      }
      const safe = target.password ? said.split(target.password).join('***') : said;
      throw new MachineError(`Could not log on to the VirtualBox web service at ${target.endpoint}: ${safe}`, {
        fix: 'check that vboxwebsrv runs there, or use --virtualbox-api vboxmanage',
      });
    }
    const [apiText, versionText, revision] = await Promise.all([vbox.getAPIVersion(), vbox.getVersion(), vbox.getRevision()]);
    const [major, minor] = String(apiText).split('_').map(Number) as [number, number];
    const version = parseVersion(`${versionText}r${revision}`);
    if (!version) throw new MachineError(`The VirtualBox web service reports version "${versionText}", which is not a version`);
    if (major < 7) {
      await wsm.logoff(vbox).catch(() => undefined);
      throw new MachineError(`The soap backend needs VirtualBox 7.0 or later (the web service is ${versionText})`, {
        fix: 'use --virtualbox-api vboxmanage',
      });
    }
    return new SoapConnection(soap, target.endpoint, wsm, vbox, { major, minor }, version);
  }

  /** Whether IPlatform/IFirmwareSettings exist (API 7_1 and later). */
  get platformApi(): boolean {
    return this.api.major > 7 || (this.api.major === 7 && this.api.minor >= 1);
  }

  raw(op: string, args: [string, string | number | boolean][]): Promise<string[]> {
    return rawCall(this.endpoint, op, args);
  }

  /** The web session has one ISession: whatever uses it runs one at a time. */
  serial<T>(fn: (session: VB.ISession) => Promise<T>): Promise<T> {
    const run = async () => fn(await this.wsm.getSessionObject(this.vbox));
    const next = this.sessionChain.then(run, run);
    this.sessionChain = next.catch(() => undefined);
    return next;
  }

  /** Run fn with the session locking the machine (Write: settings; Shared: a running VM's console). */
  withLock<T>(vm: string, lockType: 'Write' | 'Shared', fn: (mutable: VB.IMachine, session: VB.ISession) => Promise<T>): Promise<T> {
    return this.serial(async (session) => {
      const machine = await this.vbox.findMachine(vm);
      // Right after a power-off the VM process may still hold its lock for a moment.
      await poll(() => machine.lockMachine(session, en(lockType)).then(() => true), {
        timeoutMs: 5000,
        intervalMs: 200,
        maxIntervalMs: 200,
        what: `VirtualBox to release the lock of VM "${vm}"`,
        fatal: (err) => errorKind((err as Error).message) !== 'locked',
      });
      try {
        return await fn(await session.getMachine(), session);
      } finally {
        await session.unlockMachine().catch(() => undefined);
      }
    });
  }

  async logoff(): Promise<void> {
    await this.wsm.logoff(this.vbox).catch(() => undefined);
  }
}

const connections = new Map<string, Promise<SoapConnection>>();

/** One logged-on web session per endpoint and process, shared by every driver (e.g. `ls`). */
export function sharedSoapConnection(target: SoapTarget): Promise<SoapConnection> {
  const key = `${target.username}@${target.endpoint}`;
  let c = connections.get(key);
  if (!c) {
    c = SoapConnection.open(target);
    connections.set(key, c);
    c.catch(() => connections.delete(key));
  }
  return c;
}

/** Log off every shared web session (tests, bench; a CLI process just exits). */
export async function closeSoapConnections(): Promise<void> {
  const all = [...connections.values()];
  connections.clear();
  await Promise.all(all.map(async (c) => (await c.catch(() => undefined))?.logoff()));
}

/** VirtualBox API errors as VBoxError, with VBoxManage-like kinds. */
export function wrap(err: unknown, what: string): VBoxError {
  if (err instanceof VBoxError) return err;
  const message = (err as Error)?.message ?? String(err);
  const code = (err as { code?: number }).code;
  let kind = errorKind(message);
  if (code === 0x80bb0007) kind = 'locked';
  return new VBoxError(`${what} failed: ${message.replace(/^VirtualBox error: (apirc=0x[0-9a-f]+ )?/, '')}`, kind, message);
}

export async function waitProgress(progress: VB.IProgress | null, what: string, timeoutMs = -1): Promise<void> {
  if (!progress) return;
  await progress.waitForCompletion(timeoutMs);
  const rc = Number(await progress.getResultCode());
  if (rc !== 0) {
    const info = await progress.getErrorInfo().catch(() => null);
    const text = info ? await info.getText().catch(() => '') : '';
    throw new VBoxError(`${what} failed: ${text || `result code ${rc}`}`, errorKind(text), text || String(rc));
  }
}

/** What every web service operation of a backend goes through: its connection, made on first use, and error wrapping. */
export class SoapCalls {
  private connection: Promise<SoapConnection> | undefined;

  constructor(private readonly connect: () => Promise<SoapConnection>) {}

  conn(): Promise<SoapConnection> {
    this.connection ??= this.connect().catch((err) => {
      this.connection = undefined;
      throw err;
    });
    return this.connection;
  }

  protected async call<T>(what: string, fn: (c: SoapConnection) => Promise<T>): Promise<T> {
    const c = await this.conn();
    try {
      return await fn(c);
    } catch (err) {
      throw wrap(err, what);
    }
  }

  /** The web session is shared (sharedSoapConnection); closeSoapConnections logs it off. */
  async close(): Promise<void> {
    this.connection = undefined;
  }
}
