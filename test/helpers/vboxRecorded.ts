/**
 * Real VirtualBox 7.2.22 (Debian sid build, the chroot of scripts/vbox-chroot.sh) outputs that
 * test/fixtures/virtualbox-7.2 lacks, captured the same way (stdout, stderr, exit code) on 2026-11-23
 * while writing the driver. Each entry says the command that produced it.
 */

export interface RecordedCall {
  argv: string;
  stdout: string;
  stderr: string;
  rc: number;
}

export const RECORDED: Record<string, RecordedCall> = {
  createvm_exists: {
    argv: 'VBoxManage createvm --name cap1 --basefolder /tmp/vbxcap/vms --register (second time)',
    stdout: '',
    stderr:
      'VBoxManage: error: Machine settings file \'/tmp/vbxcap/vms/cap1/cap1.vbox\' already exists\nVBoxManage: error: Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MachineWrap, interface IMachine, callee nsISupports\nVBoxManage: error: Context: "CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), platformArch, ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), bstrCipher.raw(), bstrPasswordId.raw(), Bstr(strPassword).raw(), machine.asOutParam())" at line 429 of file VBoxManageMisc.cpp\n',
    rc: 1,
  },
  sharedfolder_add_space: {
    argv: 'VBoxManage sharedfolder add cap1 --name "My Share" --hostpath /tmp/vbxcap --automount',
    stdout: '',
    stderr:
      "Oracle VirtualBox Command Line Management Interface Version 7.2.22_Debian\nCopyright (C) 2005-2026 Oracle and/or its affiliates\n\nVBoxManage: error: Invalid shared folder name 'My Share': contains space\n\nUsage:\n\n  VBoxManage sharedfolder add <global | uuid | vmname> <--name=share-name>\n      <--hostpath=hostpath> [--readonly] [--transient] [--automount]\n      [--auto-mount-point=path]\n",
    rc: 2,
  },
  convertfromraw_unaligned: {
    argv: 'VBoxManage convertfromraw /tmp/vbxcap/odd.raw /tmp/vbxcap/odd.vdi --format VDI (1000-byte raw file)',
    stdout: '',
    stderr:
      'Converting from raw image file="/tmp/vbxcap/odd.raw" to file="/tmp/vbxcap/odd.vdi"...\nCreating dynamic image with size 1000 bytes (1MB)...\nVBoxManage: error: VD: The given disk size 1000 is not aligned on a sector boundary (512 bytes)\nVBoxManage: error: Error code VERR_VD_INVALID_SIZE at /build/reproducible-path/virtualbox-7.2.22-dfsg/src/VBox/Storage/VD.cpp(6054) in function int VDCreateBase(PVDISK, const char*, const char*, uint64_t, unsigned int, const char*, PCVDGEOMETRY, PCVDGEOMETRY, PCRTUUID, unsigned int, PVDINTERFACE, PVDINTERFACE)\nVBoxManage: error: Cannot create the disk image "/tmp/vbxcap/odd.vdi": VERR_VD_INVALID_SIZE\n',
    rc: 1,
  },
  modifymedium_resize_refused: {
    argv: 'VBoxManage modifymedium disk /tmp/vbxcap/d.vdi --resize 20000 (a 1 MB VDI)',
    stdout: '',
    stderr: 'VBoxManage: error: Error: Attempt to resize the medium from 1.0 MB to 20000.0 MB. Use --resizebyte if this is intended!\n',
    rc: 1,
  },
  modifymedium_resizebyte: {
    argv: 'VBoxManage modifymedium disk /tmp/vbxcap/d.vdi --resizebyte 20971520000',
    stdout: '',
    stderr: '0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n',
    rc: 0,
  },
  closemedium_missing: {
    argv: 'VBoxManage closemedium disk /tmp/vbxcap/nonexistent.vdi',
    stdout: '',
    stderr:
      'VBoxManage: error: Could not find file for the medium \'/tmp/vbxcap/nonexistent.vdi\' (VERR_FILE_NOT_FOUND)\nVBoxManage: error: Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MediumWrap, interface IMedium, callee nsISupports\nVBoxManage: error: Context: "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())" at line 197 of file VBoxManageDisk.cpp\n',
    rc: 1,
  },
  controlvm_acpipowerbutton_notrunning: {
    argv: 'VBoxManage controlvm cap1 acpipowerbutton (VM powered off)',
    stdout: '',
    stderr: "VBoxManage: error: Machine 'cap1' is not currently running.\n",
    rc: 1,
  },
  hostonlyif_remove_missing: {
    argv: 'VBoxManage hostonlyif remove vboxnet0 (no such interface)',
    stdout: '',
    stderr:
      'VBoxManage: error: The host network interface named \'vboxnet0\' could not be found\nVBoxManage: error: Details: code NS_ERROR_INVALID_ARG (0x80070057), component HostWrap, interface IHost, callee nsISupports\nVBoxManage: error: Context: "FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())" at line 150 of file VBoxManageHostonly.cpp\n',
    rc: 1,
  },
  dhcpserver_modify: {
    argv: 'VBoxManage dhcpserver modify --network=HostInterfaceNetworking-vboxnet0 --server-ip=192.168.56.2 --netmask=255.255.255.0 --lower-ip=192.168.56.100 --upper-ip=192.168.56.254 --enable',
    stdout: '',
    stderr: '',
    rc: 0,
  },
  list_dhcpservers_modified: {
    argv: 'VBoxManage list dhcpservers (after dhcpserver_modify)',
    stdout:
      'NetworkName:    HostInterfaceNetworking-vboxnet0\nDhcpd IP:       192.168.56.2\nLowerIPAddress: 192.168.56.100\nUpperIPAddress: 192.168.56.254\nNetworkMask:    255.255.255.0\nEnabled:        Yes\nGlobal Configuration:\n    minLeaseTime:     default\n    defaultLeaseTime: default\n    maxLeaseTime:     default\n    Forced options:   None\n    Suppressed opts.: None\n        1/legacy: 255.255.255.0\nGroups:               None\nIndividual Configs:   None\n',
    stderr: '',
    rc: 0,
  },
  VBoxHeadless_help: {
    argv: 'VBoxHeadless --help (no /dev/vboxdrv)',
    stdout: '',
    stderr:
      'VBoxHeadless: Error -1908 in suplibOsInit!\nVBoxHeadless: Kernel driver not installed\n\nVBoxHeadless: Tip! Make sure the kernel module is loaded. It may also help to reinstall VirtualBox.\n',
    rc: 1,
  },
  list_vms_inaccessible: {
    argv: 'VBoxManage list vms (VM folder deleted, VBoxSVC restarted)',
    stdout: '"<inaccessible>" {0a995c16-b989-4576-8ece-47b170ea8f7a}\n',
    stderr: '',
    rc: 0,
  },
  showvminfo_inaccessible: {
    argv: 'VBoxManage showvminfo <uuid> --machinereadable (that VM)',
    stdout: '',
    stderr:
      'VBoxManage: error: The object functionality is limited\nVBoxManage: error: Details: code E_ACCESSDENIED (0x80070005), component MachineWrap, interface IMachine, callee nsISupports\nVBoxManage: error: Context: "LockMachine(a->session, LockType_Shared)" at line 3328 of file VBoxManageInfo.cpp\n',
    rc: 1,
  },
  unregistervm_delete_inaccessible: {
    argv: 'VBoxManage unregistervm <uuid> --delete (that VM; it is unregistered anyway)',
    stdout: '',
    stderr:
      'VBoxManage: error: The object is not ready\nVBoxManage: error: Details: code E_ACCESSDENIED (0x80070005), component MachineWrap, interface IMachine, callee nsISupports\nVBoxManage: error: Context: "DeleteConfig(ComSafeArrayAsInParam(aMedia), pProgress.asOutParam())" at line 239 of file VBoxManageMisc.cpp\n',
    rc: 1,
  },
  unregistervm_missing: {
    argv: 'VBoxManage unregistervm cap2 --delete (no such VM)',
    stdout: '',
    stderr:
      'VBoxManage: error: Could not find a registered machine named \'cap2\'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports\nVBoxManage: error: Context: "FindMachine(Bstr(VMName).raw(), machine.asOutParam())" at line 228 of file VBoxManageMisc.cpp\n',
    rc: 1,
  },
};
