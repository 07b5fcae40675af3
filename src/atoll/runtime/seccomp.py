"""A classic-BPF seccomp filter for x86_64, built in Python for ``bwrap --seccomp FD``.

The program checks the architecture first (anything but x86_64, including i386 via
``int 0x80``, kills the process), refuses x32 syscall numbers, refuses namespace-creating
``clone`` flags, answers ``clone3`` with ENOSYS (so libc falls back to ``clone`` whose flags
we can see), answers ``socket``/``socketpair`` with EAFNOSUPPORT for every address family but
those in ``SOCKET_FAMILIES``, and answers every syscall in ``DENIED`` with EPERM. Everything
else is allowed; the namespaces, the read-only mounts and the rlimits do the rest.
"""

from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# BPF instruction classes and fields (linux/filter.h, linux/bpf_common.h).
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_RET_K = 0x06

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

OFFSET_NR = 0
OFFSET_ARCH = 4
OFFSET_ARG0_LOW = 16

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED: dict[str, int] = {
    "ptrace": 101,
    "syslog": 103,
    "uselib": 134,
    "personality": 135,
    "vhangup": 153,
    "pivot_root": 155,
    "_sysctl": 156,
    "adjtimex": 159,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "create_module": 174,
    "init_module": 175,
    "delete_module": 176,
    "get_kernel_syms": 177,
    "query_module": 178,
    "quotactl": 179,
    "nfsservctl": 180,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "move_pages": 279,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
CLONE = 56
CLONE3 = 435
SOCKET = 41
SOCKETPAIR = 53
# AF_UNIX, AF_INET, AF_INET6: what functions need. Every other family is refused because the
# network namespace does not confine it (AF_VSOCK reaches the hypervisor and its other
# guests) or because it is kernel attack surface a function has no use for (netlink,
# packet, alg, bluetooth, xdp, ...).
SOCKET_FAMILIES = (1, 2, 10)
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
CLONE_NAMESPACE_FLAGS = (
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
) | 0x00000080


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_filter(denied: dict[str, int] | None = None) -> bytes:
    """The compiled filter: an array of ``struct sock_filter``."""
    numbers = sorted(set((denied or DENIED).values()))
    eperm = SECCOMP_RET_ERRNO | errno.EPERM
    prog = [
        _insn(BPF_LD_W_ABS, OFFSET_ARCH),
        _insn(BPF_JEQ_K, AUDIT_ARCH_X86_64, jt=1, jf=0),
        _insn(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        _insn(BPF_LD_W_ABS, OFFSET_NR),
        _insn(BPF_JGE_K, X32_SYSCALL_BIT, jt=0, jf=1),
        _insn(BPF_RET_K, eperm),
        _insn(BPF_JEQ_K, CLONE3, jt=0, jf=1),
        _insn(BPF_RET_K, SECCOMP_RET_ERRNO | errno.ENOSYS),
        _insn(BPF_JEQ_K, CLONE, jt=0, jf=3),
        _insn(BPF_LD_W_ABS, OFFSET_ARG0_LOW),
        _insn(BPF_JSET_K, CLONE_NAMESPACE_FLAGS, jt=0, jf=1),
        _insn(BPF_RET_K, eperm),
    ]
    # After the clone check the accumulator may hold arg0: reload the syscall number.
    prog.append(_insn(BPF_LD_W_ABS, OFFSET_NR))
    prog += _socket_family_check()
    for nr in numbers:
        prog.append(_insn(BPF_JEQ_K, nr, jt=0, jf=1))
        prog.append(_insn(BPF_RET_K, eperm))
    prog.append(_insn(BPF_RET_K, SECCOMP_RET_ALLOW))
    return b"".join(prog)


def _socket_family_check() -> list[bytes]:
    """``socket``/``socketpair`` with a family outside ``SOCKET_FAMILIES`` get EAFNOSUPPORT.

    The family is a C ``int``: the kernel looks at the low 32 bits of the register only, which
    is the word checked here. Other syscalls fall through with the number still loaded.
    """
    families = len(SOCKET_FAMILIES)
    block = [_insn(BPF_LD_W_ABS, OFFSET_ARG0_LOW)]
    for index, family in enumerate(SOCKET_FAMILIES):
        block.append(_insn(BPF_JEQ_K, family, jt=families - index, jf=0))
    block.append(_insn(BPF_RET_K, SECCOMP_RET_ERRNO | errno.EAFNOSUPPORT))
    block.append(_insn(BPF_RET_K, SECCOMP_RET_ALLOW))
    return [
        _insn(BPF_JEQ_K, SOCKET, jt=1, jf=0),
        _insn(BPF_JEQ_K, SOCKETPAIR, jt=0, jf=len(block)),
        *block,
    ]


def supported() -> bool:
    """Whether this filter matches the machine (x86_64 only)."""
    return platform.machine() in ("x86_64", "AMD64")
