import { promises as fs } from 'node:fs';
import { MachineError } from '../core/errors.js';

/**
 * Just enough ISO 9660 (with Rock Ridge names) to read a boot2docker ISO: the volume id that
 * docker-machine uses as the version ("b2d-v19.03.12"), the publisher (our ISO marks itself), and
 * files by path, so the QEMU driver can boot the kernel directly instead of through ISOLINUX.
 */

const SECTOR = 2048;
const PVD = 16 * SECTOR;

export interface IsoInfo {
  volumeId: string;
  publisher: string;
  applicationId: string;
  /** The version after "-v" in the volume id, as docker-machine reads it ("19.03.12"), or "". */
  version: string;
}

interface DirEntry {
  name: string;
  lba: number;
  size: number;
  isDir: boolean;
}

export class IsoImage {
  private constructor(
    private readonly handle: fs.FileHandle,
    readonly path: string,
    readonly info: IsoInfo,
    private readonly root: DirEntry,
  ) {}

  static async open(file: string): Promise<IsoImage> {
    const handle = await fs.open(file, 'r');
    try {
      const pvd = Buffer.alloc(SECTOR);
      const { bytesRead } = await handle.read(pvd, 0, SECTOR, PVD);
      if (bytesRead < SECTOR || pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') {
        throw new MachineError(`${file} is not an ISO 9660 image`, { fix: 'check the file, or download the ISO again' });
      }
      const text = (start: number, len: number) => pvd.toString('latin1', start, start + len).replace(/[\s\0]+$/, '');
      const volumeId = text(40, 32);
      const dash = volumeId.indexOf('-v');
      const info: IsoInfo = {
        volumeId,
        publisher: text(318, 128),
        applicationId: text(574, 128),
        version: dash >= 0 ? volumeId.slice(dash + 2) : '',
      };
      return new IsoImage(handle, file, info, rootRecord(pvd));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async readDir(dir: DirEntry): Promise<DirEntry[]> {
    const buf = Buffer.alloc(dir.size);
    await this.handle.read(buf, 0, dir.size, dir.lba * SECTOR);
    const entries: DirEntry[] = [];
    let off = 0;
    while (off < buf.length) {
      const len = buf[off]!;
      if (len === 0) {
        off = (Math.floor(off / SECTOR) + 1) * SECTOR; // records do not cross sectors
        continue;
      }
      const entry = parseRecord(buf, off);
      if (entry) entries.push(entry);
      off += len;
    }
    return entries;
  }

  /** Find a file or directory by path ("boot/vmlinuz"), case-insensitively. */
  async find(filePath: string): Promise<DirEntry | undefined> {
    let current: DirEntry = this.root;
    for (const part of filePath.split('/').filter(Boolean)) {
      if (!current.isDir) return undefined;
      const next: DirEntry | undefined = (await this.readDir(current)).find((e) => e.name.toLowerCase() === part.toLowerCase());
      if (!next) return undefined;
      current = next;
    }
    return current;
  }

  async readFile(filePath: string): Promise<Buffer | undefined> {
    const entry = await this.find(filePath);
    if (!entry || entry.isDir) return undefined;
    const buf = Buffer.alloc(entry.size);
    await this.handle.read(buf, 0, entry.size, entry.lba * SECTOR);
    return buf;
  }

  async extract(filePath: string, dest: string): Promise<boolean> {
    const data = await this.readFile(filePath);
    if (!data) return false;
    await fs.writeFile(dest, data, { mode: 0o644 });
    return true;
  }
}

function rootRecord(pvd: Buffer): DirEntry {
  return { name: '', lba: pvd.readUInt32LE(156 + 2), size: pvd.readUInt32LE(156 + 10), isDir: true };
}

function parseRecord(buf: Buffer, off: number): DirEntry | undefined {
  const len = buf[off]!;
  const nameLen = buf[off + 32]!;
  const rawName = buf.subarray(off + 33, off + 33 + nameLen);
  if (nameLen === 1 && (rawName[0] === 0 || rawName[0] === 1)) return undefined; // "." and ".."
  let name = rockRidgeName(buf.subarray(off + 33 + nameLen + ((nameLen & 1) === 0 ? 1 : 0), off + len));
  name ??= rawName.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '');
  return { name, lba: buf.readUInt32LE(off + 2), size: buf.readUInt32LE(off + 10), isDir: (buf[off + 25]! & 2) !== 0 };
}

/** The Rock Ridge "NM" (alternate name) entry of a record's system use area, if present. */
function rockRidgeName(su: Buffer): string | undefined {
  let off = 0;
  let name = '';
  while (off + 4 <= su.length) {
    const sig = su.toString('latin1', off, off + 2);
    const len = su[off + 2]!;
    if (len < 4) break;
    if (sig === 'NM') name += su.toString('utf8', off + 5, off + len);
    off += len;
  }
  return name || undefined;
}

export async function readIsoInfo(file: string): Promise<IsoInfo> {
  const iso = await IsoImage.open(file);
  await iso.close();
  return iso.info;
}

export interface BootEntry {
  kernel: string;
  initrd: string;
  append: string;
}

/**
 * The default entry of the ISO's boot loader: which kernel and initrd it boots, with what command
 * line. isolinux.cfg (our amd64 ISO, boot2docker's), else GRUB's grub.cfg (our arm64 ISO, which
 * boots by UEFI only).
 */
export async function bootEntry(iso: IsoImage): Promise<BootEntry | undefined> {
  for (const p of ['isolinux/isolinux.cfg', 'boot/isolinux/isolinux.cfg', 'syslinux/syslinux.cfg']) {
    const cfg = await iso.readFile(p);
    if (cfg) return parseIsolinuxCfg(cfg.toString('utf8'));
  }
  const grub = await iso.readFile('boot/grub/grub.cfg');
  return grub ? parseGrubCfg(grub.toString('utf8')) : undefined;
}

/** The first menuentry of a grub.cfg with a linux and an initrd line (set default= is not followed). */
export function parseGrubCfg(text: string): BootEntry | undefined {
  for (const block of text.split(/^\s*menuentry\b/m).slice(1)) {
    const body = block.slice(0, block.indexOf('}') + 1 || undefined);
    const linux = /^\s*linux(?:efi)?\s+(\S+)[ \t]*(.*)$/m.exec(body);
    const initrd = /^\s*initrd(?:efi)?\s+(\S+)/m.exec(body);
    if (linux && initrd) return { kernel: linux[1]!.replace(/^\//, ''), initrd: initrd[1]!.replace(/^\//, ''), append: linux[2]!.trim() };
  }
  return undefined;
}

export function parseIsolinuxCfg(text: string): BootEntry | undefined {
  const labels = new Map<string, Partial<BootEntry>>();
  let defaultLabel: string | undefined;
  let current: Partial<BootEntry> | undefined;
  let first: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'default') defaultLabel = value.split(/\s+/)[0];
    else if (key === 'label') {
      current = {};
      labels.set(value, current);
      first ??= value;
    } else if (current && (key === 'kernel' || key === 'linux')) current.kernel = value;
    else if (current && key === 'initrd') current.initrd = value;
    else if (current && key === 'append') current.append = value;
  }
  const entry = labels.get(defaultLabel ?? '') ?? labels.get(first ?? '');
  if (!entry?.kernel) return undefined;
  let append = entry.append ?? '';
  let initrd = entry.initrd;
  const m = /(?:^|\s)initrd=(\S+)/.exec(append);
  if (m) {
    initrd ??= m[1]!.split(',')[0];
    append = append.replace(/(^|\s)initrd=\S+/, '').trim();
  }
  if (!initrd) return undefined;
  return { kernel: entry.kernel.replace(/^\//, ''), initrd: initrd.replace(/^\//, ''), append };
}
