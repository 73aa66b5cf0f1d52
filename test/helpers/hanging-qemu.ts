import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

/**
 * A qemu-system-x86_64 whose KVM runs nothing, as a hung nested KVM: "-accel kvm" becomes a VM whose
 * CPU never starts (-S: it prints nothing and answers its monitor); everything else is the real
 * QEMU under TCG. HANG_WHEN in its environment picks the runs that hang: "any" (the accelerator probe
 * too) or "daemonize" (only a machine's real boot, so the probe passes). Returns its path.
 */
export async function hangingQemu(dir: string): Promise<string> {
  const real = (await execa('sh', ['-c', 'command -v qemu-system-x86_64'])).stdout.trim();
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'qemu-system-x86_64');
  await fs.writeFile(
    file,
    `#!/bin/sh
hang=; kvm=; d=
for a; do [ "$a" = kvm ] && kvm=1; [ "$a" = -daemonize ] && d=1; done
[ -n "$kvm" ] && { [ "$HANG_WHEN" = any ] || [ -n "$d" ]; } && hang=1
n=$#
for a; do
  [ "$a" = kvm ] && a=tcg; [ "$a" = host ] && a=max
  set -- "$@" "$a"
done
shift $n
[ -n "$hang" ] && set -- "$@" -S
exec ${real} "$@"
`,
    { mode: 0o755 },
  );
  return file;
}
