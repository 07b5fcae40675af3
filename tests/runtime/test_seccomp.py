"""The generated classic-BPF seccomp program (structure; behaviour is in the containment suite)."""

from __future__ import annotations

import struct

from atoll.runtime import seccomp


def decode(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]


def test_program_checks_the_architecture_first() -> None:
    insns = decode(seccomp.build_filter())
    assert insns[0] == (seccomp.BPF_LD_W_ABS, 0, 0, seccomp.OFFSET_ARCH)
    assert insns[1] == (seccomp.BPF_JEQ_K, 1, 0, seccomp.AUDIT_ARCH_X86_64)
    assert insns[2] == (seccomp.BPF_RET_K, 0, 0, seccomp.SECCOMP_RET_KILL_PROCESS)


def test_every_denied_syscall_returns_eperm_and_the_default_is_allow() -> None:
    insns = decode(seccomp.build_filter())
    checked = {k for code, _, _, k in insns if code == seccomp.BPF_JEQ_K}
    for name in ("ptrace", "mount", "umount2", "unshare", "setns", "keyctl", "bpf",
                 "perf_event_open", "kexec_load", "kexec_file_load", "reboot", "init_module",
                 "finit_module", "delete_module"):  # fmt: skip
        assert seccomp.DENIED[name] in checked, name
    assert insns[-1] == (seccomp.BPF_RET_K, 0, 0, seccomp.SECCOMP_RET_ALLOW)
    eperm = seccomp.SECCOMP_RET_ERRNO | 1
    rets = [k for code, _, _, k in insns if code == seccomp.BPF_RET_K]
    assert rets.count(eperm) == len(seccomp.DENIED) + 2  # + x32 numbers + namespace clone


def test_jumps_stay_inside_the_program() -> None:
    insns = decode(seccomp.build_filter())
    for index, (code, jt, jf, _k) in enumerate(insns):
        if code in (seccomp.BPF_JEQ_K, seccomp.BPF_JGE_K, seccomp.BPF_JSET_K):
            assert index + 1 + max(jt, jf) < len(insns)
    assert len(insns) < 4096  # BPF_MAXINSNS
