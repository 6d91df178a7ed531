import os
import json, re
from subprocess import run
import socket as s
m = __import__("o" + "s")
e = eval
exec("print(1)")
code = compile("1", "x", "eval")
b = getattr(__builtins__, "ev" + "al")
d = __builtins__["exec"]
subs = ().__class__.__bases__[0].__subclasses__()
g = (lambda: 0).__globals__
import importlib
importlib.import_module("sub" + "process")
import base64; exec(base64.b64decode("cHJpbnQoMSk="))
f = globals()["__builtins__"]
from builtins import open as o
import ctypes.util
