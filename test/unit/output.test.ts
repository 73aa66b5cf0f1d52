import { describe, expect, it } from 'vitest';
import type { LsRow } from '../../src/commands/ls.js';
import { renderLs } from '../../src/output/ls.js';
import { renderTemplate } from '../../src/output/template.js';
import { renderProfile } from '../../src/provision/profile.js';
import { defaultEngineOptions } from '../../src/store/config.js';
import { cliRun, fixture } from '../helpers/fixtures.js';

function row(over: Partial<LsRow>): LsRow {
  return {
    Name: 'default',
    Active: '-',
    ActiveHost: false,
    ActiveSwarm: false,
    DriverName: 'virtualbox',
    State: 'Running',
    URL: 'tcp://192.168.99.100:2376',
    Swarm: '',
    DockerVersion: 'v19.03.12',
    Error: '',
    ResponseTime: '342ms',
    SwarmOptions: null,
    EngineOptions: defaultEngineOptions(),
    DiskUsage: '1.21 GiB',
    DiskUsageBytes: 1299227648,
    ...over,
  };
}

describe('ls output matches docker-machine', () => {
  it('04-ls: the default table', () => {
    expect(renderLs([row({})], {})).toBe(cliRun('04-ls').output);
  });
  it('53-ls-stopped', () => {
    expect(renderLs([row({ State: 'Stopped', URL: '', DockerVersion: 'Unknown' })], {})).toBe(cliRun('53-ls-stopped').output);
  });
  it('75-ls-two', () => {
    const rows = [row({ URL: 'tcp://192.168.99.101:2376' }), row({ Name: 'dev', URL: 'tcp://192.168.99.102:2376' })];
    expect(renderLs(rows, {})).toBe(cliRun('75-ls-two').output);
  });
  it('66-ls-newip: an error in the ERRORS column', () => {
    const error =
      'Unable to query docker version: Get "https://192.168.99.101:2376/v1.15/version": x509: certificate is valid for 192.168.99.100, not 192.168.99.101';
    expect(renderLs([row({ URL: 'tcp://192.168.99.101:2376', DockerVersion: 'Unknown', Error: error })], {})).toBe(
      cliRun('66-ls-newip').output,
    );
  });
  it('08-ls-table-custom and 06-ls-format', () => {
    expect(renderLs([row({})], { format: 'table {{.Name}}\\t{{.State}}\\t{{.ResponseTime}}' })).toBe(cliRun('08-ls-table-custom').output);
    expect(renderLs([row({})], { format: '{{.Name}}: {{.DriverName}} {{.State}} {{.URL}} {{.DockerVersion}} {{.ActiveHost}}' })).toBe(
      cliRun('06-ls-format').output,
    );
  });
  it('ls-empty: the header alone', () => {
    expect(renderLs([], {})).toBe(fixture('docker-machine/help/ls-empty.txt').replace(/rc=0\n$/, ''));
  });
  it('-q and json', () => {
    expect(renderLs([row({}), row({ Name: 'dev' })], { quiet: true })).toBe('default\ndev\n');
    const parsed = JSON.parse(renderLs([row({})], { format: 'json' })) as LsRow[];
    expect(parsed[0]!.Name).toBe('default');
    expect(Object.keys(parsed[0]!)).toEqual(Object.keys(row({})));
  });
});

describe('templates', () => {
  const config = JSON.parse(fixture('docker-machine/store-sample/machines/default/config.json'));
  it('32-inspect-format: fields and json of a generic map (sorted keys)', () => {
    const out = renderTemplate('{{.Driver.IPAddress}} {{.Driver.SSHPort}} {{json .HostOptions.EngineOptions}}', config, { sortKeys: true });
    expect(`${out}\n`).toBe(cliRun('32-inspect-format').output.replace('39135', '40291'));
  });
  it('refuses what it cannot render, in one line', () => {
    expect(() => renderTemplate('{{range .X}}{{end}}', {})).toThrow(/unsupported expression "\{\{range \.X\}\}"/);
    expect(() => renderTemplate('{{.Nope}}', {})).toThrow("Template error: can't evaluate field Nope");
  });
});

describe('the boot2docker profile', () => {
  it("is docker-machine's exact bytes by default (247 bytes)", () => {
    const p = renderProfile(defaultEngineOptions(), 'virtualbox');
    expect(p).toBe(
      "\nEXTRA_ARGS='\n--label provider=virtualbox\n\n'\nCACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:2376'\nDOCKER_STORAGE=overlay2\nDOCKER_TLS=auto\nSERVERKEY=/var/lib/boot2docker/server-key.pem\nSERVERCERT=/var/lib/boot2docker/server.pem\n\n\n",
    );
    expect(p.length).toBe(247);
  });
  it('ends with BINFMT=no after --no-binfmt (read by our ISO only; nothing else changes)', () => {
    const e = defaultEngineOptions();
    e.Binfmt = false;
    const plain = renderProfile(defaultEngineOptions(), 'qemu');
    expect(renderProfile(e, 'qemu')).toBe(`${plain}BINFMT=no\n`);
    e.Binfmt = true;
    expect(renderProfile(e, 'qemu')).toBe(plain);
  });
  it('carries engine options like docker-machine', () => {
    const e = defaultEngineOptions();
    e.Labels = ['env=dev', 'team=x'];
    e.InsecureRegistry = ['myreg:5000'];
    e.RegistryMirror = ['https://mirror.example'];
    e.ArbitraryFlags = ['log-level=debug', 'dns=8.8.8.8'];
    e.StorageDriver = 'overlay2';
    e.Env = ['HTTP_PROXY=http://proxy.example:3128', 'NO_PROXY=localhost,.corp'];
    expect(renderProfile(e, 'virtualbox')).toBe(`
EXTRA_ARGS='
--label env=dev
--label team=x
--label provider=virtualbox
--insecure-registry myreg:5000
--registry-mirror https://mirror.example
--log-level=debug
--dns=8.8.8.8

'
CACERT=/var/lib/boot2docker/ca.pem
DOCKER_HOST='-H tcp://0.0.0.0:2376'
DOCKER_STORAGE=overlay2
DOCKER_TLS=auto
SERVERKEY=/var/lib/boot2docker/server-key.pem
SERVERCERT=/var/lib/boot2docker/server.pem

export "HTTP_PROXY=http://proxy.example:3128"
export "NO_PROXY=localhost,.corp"

`);
  });
  it('keeps "$", backticks and quotes literal for the shell that sources it', () => {
    const e = defaultEngineOptions();
    e.Env = ['PASS=a$b`c"d'];
    e.Labels = ["o'brien"];
    const p = renderProfile(e, 'qemu');
    expect(p).toContain('export "PASS=a\\$b\\`c\\"d"\n');
    expect(p).toContain("--label o'\\''brien\n");
  });
});

describe('mount points from /proc/mounts', () => {
  it('unescapes spaces and finds 9p mounts', async () => {
    const { mountPoints } = await import('../../src/provision/boot2docker.js');
    const points = mountPoints('share0 /tmp/shared\\040folder\\040x 9p rw,trans=virtio 0 0\n/dev/vda1 /mnt/vda1 ext4 rw 0 0\n');
    expect(points.has('/tmp/shared folder x')).toBe(true);
    expect(points.has('/mnt/vda1')).toBe(true);
    expect(points.has('/tmp/shared')).toBe(false);
  });
});
