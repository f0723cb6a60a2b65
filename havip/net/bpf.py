"""Classic BPF socket filters: a program of (code, jt, jf, k) instructions, attached in the kernel.

A filter runs before a packet is queued to a socket, so what it rejects never wakes the
process and costs no copy. See <linux/filter.h> for the instruction encoding.
"""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_FILTER = 26

Instruction = tuple[int, int, int, int]

LD_B_ABS, RSH_K, JEQ_K, JA, RET_K = 0x30, 0x74, 0x15, 0x05, 0x06

DROP_ALL: tuple[Instruction, ...] = ((RET_K, 0, 0, 0),)
"""Queue nothing: for a socket kept to send, or for its group membership, not to read."""


def attach_filter(sock: socket.socket, program: tuple[Instruction, ...]) -> None:
    """Attach `program` to `sock` (SO_ATTACH_FILTER copies it into the kernel)."""
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
