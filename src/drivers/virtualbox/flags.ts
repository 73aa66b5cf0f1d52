import type { DriverDefinition } from '../driver.js';

/** docker-machine's VirtualBox flags and environment variables (drivers/virtualbox), plus our own. */
export const virtualboxDefinition: DriverDefinition = {
  name: 'virtualbox',
  description: 'Oracle VirtualBox 6.1/7.x, through VBoxManage or its web service',
  flags: [
    { name: 'virtualbox-memory', env: 'VIRTUALBOX_MEMORY_SIZE', type: 'size', default: 1024, arg: '<mb>', description: 'Size of memory for host in MB' },
    { name: 'virtualbox-cpu-count', env: 'VIRTUALBOX_CPU_COUNT', type: 'int', default: 1, arg: '<n>', description: 'number of CPUs for the machine (-1 to use the number of CPUs available)' },
    { name: 'virtualbox-disk-size', env: 'VIRTUALBOX_DISK_SIZE', type: 'size', default: 20000, arg: '<mb>', description: 'Size of disk for host in MB' },
    { name: 'virtualbox-boot2docker-url', env: 'VIRTUALBOX_BOOT2DOCKER_URL', type: 'string', arg: '<url>', description: 'The URL of the boot2docker image (a path, file:// or http(s)://)' },
    { name: 'virtualbox-host-dns-resolver', env: 'VIRTUALBOX_HOST_DNS_RESOLVER', type: 'bool', description: 'Use the host DNS resolver' },
    { name: 'virtualbox-nat-nictype', env: 'VIRTUALBOX_NAT_NICTYPE', type: 'string', default: '82540EM', arg: '<type>', description: 'Specify the Network Adapter Type' },
    { name: 'virtualbox-hostonly-cidr', env: 'VIRTUALBOX_HOSTONLY_CIDR', type: 'string', arg: '<cidr>', description: 'Specify the Host Only CIDR (default 192.168.99.1/24, or 192.168.59.1/24 where VirtualBox only allows 192.168.56.0/21)' },
    { name: 'virtualbox-hostonly-nictype', env: 'VIRTUALBOX_HOSTONLY_NIC_TYPE', type: 'string', default: '82540EM', arg: '<type>', description: 'Specify the Host Only Network Adapter Type' },
    { name: 'virtualbox-hostonly-nicpromisc', env: 'VIRTUALBOX_HOSTONLY_NIC_PROMISC', type: 'string', default: 'deny', arg: '<mode>', description: 'Specify the Host Only Network Adapter Promiscuous Mode' },
    { name: 'virtualbox-hostonly-no-dhcp', env: 'VIRTUALBOX_HOSTONLY_NO_DHCP', type: 'bool', description: 'Disable the Host Only DHCP Server' },
    { name: 'virtualbox-no-hostonly', env: 'VIRTUALBOX_NO_HOSTONLY', type: 'bool', description: 'No host-only network: reach the machine through 127.0.0.1 port forwards only' },
    { name: 'virtualbox-ui-type', env: 'VIRTUALBOX_UI_TYPE', type: 'string', default: 'headless', choices: ['gui', 'sdl', 'headless', 'separate'], arg: '<type>', description: 'Specify the UI Type: (gui|sdl|headless|separate)' },
    { name: 'virtualbox-no-share', env: 'VIRTUALBOX_NO_SHARE', type: 'bool', description: 'Disable the mount of your home directory' },
    { name: 'virtualbox-share-folder', env: 'VIRTUALBOX_SHARE_FOLDER', type: 'string', arg: '<dir:name>', description: 'Mount the specified directory instead of the default home location. Format: dir:name' },
    { name: 'virtualbox-no-dns-proxy', env: 'VIRTUALBOX_NO_DNS_PROXY', type: 'bool', description: 'Disable proxying all DNS requests to the host' },
    { name: 'virtualbox-no-vtx-check', env: 'VIRTUALBOX_NO_VTX_CHECK', type: 'bool', description: 'Disable checking for the availability of hardware virtualization before the vm is started' },
    { name: 'virtualbox-api', env: 'VIRTUALBOX_API', type: 'string', default: 'vboxmanage', choices: ['vboxmanage', 'soap'], arg: '<api>', description: 'How to drive VirtualBox: the VBoxManage CLI or the web service (vboxwebsrv)' },
    { name: 'virtualbox-soap-url', env: 'VIRTUALBOX_SOAP_URL', type: 'string', arg: '<url>', description: 'Web service URL (default: start our own vboxwebsrv on 127.0.0.1)' },
    { name: 'virtualbox-vboxmanage', type: 'string', arg: '<path>', description: 'The VBoxManage program (default: $VBOX_MANAGE, then PATH and the usual install folders)' },
    { name: 'virtualbox-stop-timeout', env: 'VIRTUALBOX_STOP_TIMEOUT', type: 'int', default: 60, arg: '<seconds>', description: 'How long stop waits after the ACPI power button before powering the VM off' },
  ],
  load: () => import('./index.js'),
};
