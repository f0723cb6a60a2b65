"""A client that holds COUNT connections to 127.0.0.1:PORT open, run as its own process.

Each connection sends the start of a request and never finishes it; when the server closes
one (its deadline, or no slot), it connects again at once, so COUNT stay held or pending all
the time. It prints `flooding` once every connection has been opened, then runs until killed.
Used by test_health.py; a separate process, so the flood does not share the server's loop.
"""

from __future__ import annotations

import sys

import trio

PARTIAL_REQUEST = b"GET /metrics HTTP/1.1\r\nHost: flood\r\nX-Slow: "


async def hold(port: int, opened: trio.Semaphore) -> None:
    first = True
    while True:
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            await trio.sleep(0.01)
            continue
        if first:
            opened.release()
            first = False
        async with stream:
            try:
                await stream.send_all(PARTIAL_REQUEST)
                while await stream.receive_some(4096):
                    pass
            except (trio.BrokenResourceError, OSError):
                pass


async def main(port: int, count: int) -> None:
    opened = trio.Semaphore(0)
    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(hold, port, opened)
        for _ in range(count):
            await opened.acquire()
        print("flooding", flush=True)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]), int(sys.argv[2]))
