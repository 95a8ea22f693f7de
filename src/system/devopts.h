/*
 * The options that add devices to loom-system's machine, in
 * qemu-system-x86_64's spellings (comma-separated key=value lists, ",,"
 * for a comma inside a value):
 *
 *   -drive file=IMG[,format=raw][,if=virtio][,readonly=on][,id=ID]
 *   -drive file=IMG,if=none,id=ID[,...] -device virtio-blk-pci,drive=ID[,serial=S]
 *   -nic user[,model=virtio-net-pci][,mac=MAC][,hostfwd=RULE]...
 *   -netdev user,id=ID[,hostfwd=RULE]...
 *   -device virtio-net-pci,netdev=ID[,mac=MAC]
 *   -device virtio-blk-pci,drive=ID[,serial=S]   (with -drive if=none,id=ID)
 *
 * RULE is QEMU's [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT.
 * The only disk interface is virtio and the only NIC model virtio-net-pci
 * (-nic's default here; QEMU's is e1000).  Parsing is devopts_add_*, from
 * the command line; devopts_build, from machine_init, opens the files and
 * the networks and puts the devices on the PCI bus, NICs first, in the
 * order given.  Every error is one line in err.
 */
#ifndef LOOM_SYSTEM_DEVOPTS_H
#define LOOM_SYSTEM_DEVOPTS_H

#include <stddef.h>

int devopts_add_drive(const char *spec, char *err, size_t errlen);
int devopts_add_nic(const char *spec, char *err, size_t errlen);
int devopts_add_netdev(const char *spec, char *err, size_t errlen);
int devopts_add_device(const char *spec, char *err, size_t errlen);
/* After the PCI bus exists: create every device asked for.  0, or -1. */
int devopts_build(char *err, size_t errlen);

#endif
