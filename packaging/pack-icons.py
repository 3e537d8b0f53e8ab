"""Packs the rendered PNGs into packaging/windows/rl-research.ico and
packaging/macos/rl-research.icns (both formats may embed PNG data as is)."""
import struct
from pathlib import Path

icon = Path("assets/icon")
png = lambda n: (icon / f"rl-research-{n}.png").read_bytes()

# ICO: header, one 16-byte directory entry per image, then the PNGs.
sizes = [16, 24, 32, 48, 64, 128, 256]
data = [png(n) for n in sizes]
out = struct.pack("<HHH", 0, 1, len(sizes))
offset = 6 + 16 * len(sizes)
for n, d in zip(sizes, data):
    out += struct.pack("<BBBBHHII", n % 256, n % 256, 0, 0, 1, 32, len(d), offset)
    offset += len(d)
Path("packaging/windows").mkdir(parents=True, exist_ok=True)
Path("packaging/windows/rl-research.ico").write_bytes(out + b"".join(data))

# ICNS: 'icns' + total length, then (OSType, length incl. 8-byte header, PNG).
types = [("icp4", 16), ("icp5", 32), ("icp6", 64), ("ic07", 128), ("ic08", 256), ("ic09", 512), ("ic10", 1024)]
body = b"".join(t.encode() + struct.pack(">I", 8 + len(png(n))) + png(n) for t, n in types)
Path("packaging/macos").mkdir(parents=True, exist_ok=True)
Path("packaging/macos/rl-research.icns").write_bytes(b"icns" + struct.pack(">I", 8 + len(body)) + body)
print("wrote packaging/windows/rl-research.ico and packaging/macos/rl-research.icns")
