/**
 * VirtualBox 5.x/6.x outputs docker-machine was tested against, verbatim from its test files as
 * quoted in the docker-machine reference (§1.10 of docker-machine-and-boot2docker.md): the formats
 * this driver must still read from older VirtualBox versions and Windows hosts.
 */

/** network_test.go stdOutOneHostOnlyNetwork */
export const HOSTONLYIFS_ONE =
  '\nName:            vboxnet0\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       192.168.99.1\nNetworkMask:     255.255.255.0\nIPV6Address:\nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\n\n';

/** network_test.go stdOutTwoHostOnlyNetwork */
export const HOSTONLYIFS_TWO =
  '\nName:            vboxnet0\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       192.168.99.1\nNetworkMask:     255.255.255.0\nIPV6Address:\nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\n\nName:            vboxnet1\nGUID:            786f6276-656e-4174-8000-0a0027000001\nDHCP:            Disabled\nIPAddress:       169.254.37.187\nNetworkMask:     255.255.255.0\nIPV6Address:\nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:01\nMediumType:      Ethernet\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-vboxnet1\n';

/** virtualbox_test.go TestStart: a Windows adapter name with spaces, no blank line at the end */
export const HOSTONLYIFS_WINDOWS =
  '\nName:            VirtualBox Host-Only Ethernet Adapter\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       192.168.99.1\nNetworkMask:     255.255.255.0\nIPV6Address:\nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter\n';

/** network_test.go: entries without blank lines */
export const HOSTONLYIFS_NO_BLANK_LINES =
  'Name:            vboxnet0\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\nName:            vboxnet1\nVBoxNetworkName: HostInterfaceNetworking-vboxnet1\n';

/** network_test.go: two adapters with the same IP */
export const HOSTONLYIFS_DUPLICATE_IP =
  'Name:            vboxnet0\nIPAddress:       192.168.99.1\nNetworkMask:     255.255.255.0\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\nName:            vboxnet1\nIPAddress:       192.168.99.1\nNetworkMask:     255.255.255.0\nVBoxNetworkName: HostInterfaceNetworking-vboxnet1\n';

/** docker/kitematic#960: a Windows adapter with the buggy 15.0.0.0 mask */
export const HOSTONLYIFS_BUGGY_MASK =
  'Name:            VirtualBox Host-Only Ethernet Adapter #3\nGUID:            ac248e3d-2b1c-4c48-a96d-0599d856828a\nDHCP:            Disabled\nIPAddress:       0.0.0.0\nNetworkMask:     15.0.0.0\nIPV6Address:\nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #3\n';

/** network_test.go stdOutListTwoDHCPServers (VirtualBox 5.x/6.0 format) */
export const DHCPSERVERS_PRE_61 =
  '\nNetworkName:    HostInterfaceNetworking-vboxnet0\nIP:             192.168.99.6\nNetworkMask:    255.255.255.0\nlowerIPAddress: 192.168.99.100\nupperIPAddress: 192.168.99.254\nEnabled:        Yes\n\nNetworkName:    HostInterfaceNetworking-vboxnet1\nIP:             192.168.99.7\nNetworkMask:    255.255.255.0\nlowerIPAddress: 192.168.99.100\nupperIPAddress: 192.168.99.254\nEnabled:        No\n';

/** VirtualBox 6.1+ format, from the VBox source strings (RTPrintf "Dhcpd IP:") */
export const DHCPSERVERS_61 =
  'NetworkName:    HostInterfaceNetworking-vboxnet0\nDhcpd IP:       192.168.56.100\nLowerIPAddress: 192.168.56.101\nUpperIPAddress: 192.168.56.254\nNetworkMask:    255.255.255.0\nEnabled:        Yes\nGlobal Configuration:\n    minLeaseTime:     default\n    defaultLeaseTime: default\n    maxLeaseTime:     default\n    Forced options:   None\n    Suppressed opts.: None\n        1/legacy: 255.255.255.0\nGroups:               None\nIndividual Configs:   None\n';

/** vm_test.go stdOutVMInfo */
export const SHOWVMINFO_DOCKER_MACHINE =
  '\nstoragecontrollerbootable0="on"\nmemory=1024\ncpus=2\n"SATA-0-0"="/home/ehazlett/.boot2docker/boot2docker.iso"\n"SATA-IsEjected"="off"\n"SATA-1-0"="/home/ehazlett/vm/test/disk.vmdk"\n"SATA-ImageUUID-1-0"="12345-abcdefg"\n"SATA-2-0"="none"\nnic1="nat"\n';

/** virtualbox_test.go TestParseIPForMACFromIPAddr (`ip addr show` in the guest) */
export const IP_ADDR_SHOW =
  '1: eth0:\n    link/ether 00:44:88:aa:bb:cc\n    inet 1.2.3.4/24\n2: eth1:\n    link/ether 11:55:99:dd:ee:ff\n   inet 5.6.7.8/24';

/** virtualbox_test.go TestGetHostOnlyMACAddress */
export const SHOWVMINFO_HOSTONLY_MAC = 'unrelatedfield=whatever\nhostonlyadapter2="vboxnet1"\nmacaddress2="004488AABBCC"\n';

/** vtx_test.go: a VBox.log line that means VT-x is off, and one that does not */
export const VBOXLOG_NO_VMX = '00:00:00.318604 Power up failed (vrc=VERR_VMX_NO_VMX, rc=NS_ERROR_FAILURE (0X80004005))';
export const VBOXLOG_RAW_MODE_FALLBACK = 'HM: HMR3Init: Falling back to raw-mode: VT-x is not available';

/** The E_ACCESSDENIED of VirtualBox >= 6.1.28 outside 192.168.56.0/21 (minikube#12748, quoted in the reference §1.7) */
export const IPCONFIG_ACCESS_DENIED =
  'VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\nVBoxManage: error: Context: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())" at line 242 of file VBoxManageHostonly.cpp\n';

/** virtualbox_test.go TestStart: `hostonlyif create` on Windows */
export const HOSTONLYIF_CREATED_WINDOWS = "Interface 'VirtualBox Host-Only Ethernet Adapter' was successfully created\n";
