# Pure computation and the standard library modules most scripts use.
import base64, collections, datetime, decimal, fractions, hashlib, heapq, itertools, json, math
import random, re, statistics, string, textwrap, typing, unicodedata, zlib, bz2, lzma, traceback
data = [random.random() for _ in range(10000)]
print(json.dumps({"mean": statistics.mean(data) > 0, "sha": hashlib.sha256(b"x").hexdigest()[:8]}))
print(re.sub(r"(\w+)", r"<\1>", "a b"), decimal.Decimal(1) / 7, fractions.Fraction(3, 9))
print(len(zlib.compress(b"a" * 1000)), len(bz2.compress(b"a" * 1000)), len(lzma.compress(b"a" * 1000)))
print(datetime.datetime.now().year > 2000, unicodedata.name("é"), base64.b64encode(b"hi"))
big = bytearray(64 << 20)  # large allocations: mmap, mremap, munmap, madvise
big = None
try:
    raise ValueError("x")
except ValueError:
    traceback.format_exc()
