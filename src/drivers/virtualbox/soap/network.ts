import type { NetworkOps } from '../backend.js';
import { type DhcpServer, type HostOnlyIf, type HostOnlyNet, normalizeMac } from '../parse.js';
import { en } from './enums.js';
import { opt, SoapCalls, waitProgress } from './transport.js';

/** Host-only adapters, host-only networks and DHCP servers through the web service. */
export class SoapNetworkOps extends SoapCalls implements NetworkOps {
  async listHostOnlyIfs(): Promise<HostOnlyIf[]> {
    return this.call('IHost.findHostNetworkInterfacesOfType', async (c) => {
      const host = await c.vbox.getHost();
      const ifs = await host.findHostNetworkInterfacesOfType(en('HostOnly'));
      return Promise.all(
        ifs.map(async (i) => {
          const [name, guid, dhcp, ip, mask, mac, status, networkName] = await Promise.all([
            i.getName(),
            opt(i.getId(), ''),
            i.getDHCPEnabled(),
            opt(i.getIPAddress(), ''),
            opt(i.getNetworkMask(), ''),
            opt(i.getHardwareAddress(), ''),
            i.getStatus(),
            i.getNetworkName(),
          ]);
          return {
            name: String(name),
            guid: String(guid),
            dhcp: Boolean(dhcp),
            ip: String(ip),
            mask: String(mask),
            mac: mac ? normalizeMac(String(mac)) : undefined,
            status: String(status),
            networkName: String(networkName),
          };
        }),
      );
    });
  }

  async createHostOnlyIf(): Promise<string | undefined> {
    return this.call('IHost.createHostOnlyNetworkInterface', async (c) => {
      const host = await c.vbox.getHost();
      const { hostInterface, returnval } = await host.createHostOnlyNetworkInterface();
      await waitProgress(returnval, 'IHost.createHostOnlyNetworkInterface', 180_000);
      return hostInterface ? String(await hostInterface.getName()) : undefined;
    });
  }

  async removeHostOnlyIf(name: string): Promise<void> {
    await this.call('IHost.removeHostOnlyNetworkInterface', async (c) => {
      const host = await c.vbox.getHost();
      const i = await host.findHostNetworkInterfaceByName(name);
      await waitProgress(
        await host.removeHostOnlyNetworkInterface(String(await i.getId())),
        'IHost.removeHostOnlyNetworkInterface',
        180_000,
      );
    });
  }

  async ipconfigHostOnlyIf(name: string, ip: string, mask: string): Promise<void> {
    await this.call('IHostNetworkInterface.enableStaticIPConfig', async (c) => {
      const host = await c.vbox.getHost();
      await (await host.findHostNetworkInterfaceByName(name)).enableStaticIPConfig(ip, mask);
    });
  }

  async listDhcpServers(): Promise<DhcpServer[]> {
    return this.call('IVirtualBox.getDHCPServers', async (c) => {
      const servers = await c.vbox.getDHCPServers();
      return Promise.all(
        servers.map(async (s) => {
          const [networkName, ip, mask, lower, upper, enabled] = await Promise.all([
            s.getNetworkName(),
            opt(s.getIPAddress(), ''),
            opt(s.getNetworkMask(), ''),
            opt(s.getLowerIP(), ''),
            opt(s.getUpperIP(), ''),
            s.getEnabled(),
          ]);
          return {
            networkName: String(networkName),
            ip: String(ip),
            mask: String(mask),
            lower: String(lower),
            upper: String(upper),
            enabled: Boolean(enabled),
          };
        }),
      );
    });
  }

  async putDhcpServer(s: DhcpServer, exists: boolean): Promise<void> {
    await this.call('configuring the DHCP server', async (c) => {
      const server = exists ? await c.vbox.findDHCPServerByNetworkName(s.networkName) : await c.vbox.createDHCPServer(s.networkName);
      await server.setConfiguration(s.ip, s.mask, s.lower, s.upper);
      await server.setEnabled(true);
    });
  }

  async listHostOnlyNets(): Promise<HostOnlyNet[]> {
    return this.call('IVirtualBox.getHostOnlyNetworks', async (c) => {
      const nets = await c.vbox.getHostOnlyNetworks();
      return Promise.all(
        nets.map(async (n) => {
          const [name, mask, lower, upper, enabled] = await Promise.all([
            n.getNetworkName(),
            opt(n.getNetworkMask(), ''),
            opt(n.getLowerIP(), ''),
            opt(n.getUpperIP(), ''),
            n.getEnabled(),
          ]);
          return { name: String(name), mask: String(mask), lower: String(lower), upper: String(upper), enabled: Boolean(enabled) };
        }),
      );
    });
  }

  async addHostOnlyNet(n: HostOnlyNet): Promise<void> {
    await this.call('IVirtualBox.createHostOnlyNetwork', async (c) => {
      const net = await c.vbox.createHostOnlyNetwork(n.name);
      await net.setNetworkMask(n.mask);
      await net.setLowerIP(n.lower);
      await net.setUpperIP(n.upper);
      await net.setEnabled(true);
    });
  }
}
