"""Opens N live-progress streams (GET /v1/campaigns/{id}/events) on
loopback and keeps reading them, as browsers would.

    python3 sse_streams.py PORT CAMPAIGN N SECONDS

Prints "open N first_events M refused R" once every stream has answered
(M of them sent their first event), then reads on for SECONDS (or until
killed) and prints "events E bytes B" with what arrived meanwhile.
"""
import selectors
import socket
import sys
import time

port, cid, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
req = ("GET /v1/campaigns/%d/events HTTP/1.1\r\nHost: bench\r\n\r\n" % cid).encode()
sel = selectors.DefaultSelector()
state = {}  # sock -> [head bytes, status, got its first event]
refused = 0
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    state[s] = [b"", None, False]
    if i % 500 == 499:  # let the server keep up with the accepts
        for key, _ in sel.select(0):
            pass
        time.sleep(0.05)

events = 0
total = 0


def pump(timeout):
    global events, total, refused
    for key, _ in sel.select(timeout):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        st = state[s]
        if not data:
            sel.unregister(s)
            s.close()
            continue
        total += len(data)
        if st[1] is None:
            st[0] += data
            if b"\r\n\r\n" in st[0]:
                st[1] = int(st[0].split(b" ", 2)[1])
                if st[1] != 200:
                    refused += 1
                data = st[0]
                st[0] = b""
        # every event has one "id: " line; the JSON data has no "id: "
        c = data.count(b"id: ")
        if c and not st[2]:
            st[2] = True
            c -= 1
        events += c


deadline = time.time() + 60
while time.time() < deadline:
    pump(0.2)
    if all(st[1] is not None and (st[2] or st[1] != 200) for st in state.values()):
        break
first = sum(1 for st in state.values() if st[2])
print("open %d first_events %d refused %d" % (n, first, refused), flush=True)
events = 0
total = 0
end = time.time() + secs
while time.time() < end:
    pump(0.5)
print("events %d bytes %d" % (events, total), flush=True)
