import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoImage, bootEntry, parseIsolinuxCfg, readIsoInfo } from '../../src/iso/iso9660.js';

let dir: string;
let iso: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'iso-test-'));
  const root = path.join(dir, 'root');
  await fs.mkdir(path.join(root, 'boot', 'isolinux'), { recursive: true });
  await fs.mkdir(path.join(root, 'deep', 'er', 'than'), { recursive: true });
  await fs.writeFile(path.join(root, 'boot', 'vmlinuz64'), 'KERNEL'.repeat(1000));
  await fs.writeFile(path.join(root, 'boot', 'initrd.img'), Buffer.alloc(3 * 2048 + 5, 7));
  await fs.writeFile(path.join(root, 'deep', 'er', 'than', 'a-long-file-name.with.dots.txt'), 'deep');
  for (let i = 0; i < 120; i++) await fs.writeFile(path.join(root, 'deep', `file-${i}`), String(i)); // a directory of several sectors
  await fs.writeFile(
    path.join(root, 'boot', 'isolinux', 'isolinux.cfg'),
    'display boot.msg\ndefault boot2docker\nlabel boot2docker\n\tkernel /boot/vmlinuz64\n\tinitrd /boot/initrd.img\n\tappend loglevel=3 console=ttyS0 console=tty0 noembed nomodeset norestore waitusb=10:LABEL=boot2docker-data base\n',
  );
  iso = path.join(dir, 'test.iso');
  execFileSync(
    'xorriso',
    ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'b2d-v19.03.12', '-publisher', 'machine-b2d', '-A', 'Boot2Docker', '-o', iso, root],
    { stdio: 'ignore' },
  );
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('ISO 9660 reader', () => {
  it('reads the volume id as docker-machine does, and the publisher', async () => {
    const info = await readIsoInfo(iso);
    // mkisofs stores publisher and application id upper-cased (ISO 9660 a-characters).
    expect(info).toEqual({ volumeId: 'b2d-v19.03.12', publisher: 'MACHINE-B2D', applicationId: 'BOOT2DOCKER', version: '19.03.12' });
  });

  it('finds files by their Rock Ridge names, across multi-sector directories', async () => {
    const image = await IsoImage.open(iso);
    try {
      expect((await image.readFile('boot/vmlinuz64'))?.toString()).toBe('KERNEL'.repeat(1000));
      expect((await image.readFile('boot/initrd.img'))?.length).toBe(3 * 2048 + 5);
      expect((await image.readFile('deep/er/than/a-long-file-name.with.dots.txt'))?.toString()).toBe('deep');
      expect((await image.readFile('deep/file-119'))?.toString()).toBe('119');
      expect(await image.readFile('boot/nothing')).toBeUndefined();
      expect(await bootEntry(image)).toEqual({
        kernel: 'boot/vmlinuz64',
        initrd: 'boot/initrd.img',
        append: 'loglevel=3 console=ttyS0 console=tty0 noembed nomodeset norestore waitusb=10:LABEL=boot2docker-data base',
      });
    } finally {
      await image.close();
    }
  });

  it('says clearly when a file is not an ISO', async () => {
    const bogus = path.join(dir, 'bogus.iso');
    await fs.writeFile(bogus, Buffer.alloc(40_000));
    await expect(readIsoInfo(bogus)).rejects.toThrow(/is not an ISO 9660 image/);
  });

  it('parses isolinux configurations with initrd= in APPEND and without DEFAULT', () => {
    expect(parseIsolinuxCfg('LABEL linux\n  LINUX /boot/vmlinuz\n  APPEND initrd=/boot/initrd.img,/x console=ttyS0 quiet\n')).toEqual({
      kernel: 'boot/vmlinuz',
      initrd: 'boot/initrd.img',
      append: 'console=ttyS0 quiet',
    });
    expect(parseIsolinuxCfg('DEFAULT nothing\n')).toBeUndefined();
  });
});
