# jaild's static checks for Python, run inside a jail. Reads
# {"files": [{"name", "content"}], "allow_imports": [...], "deny_imports": [...]}
# on stdin, writes {"findings": [{file, line, column, rule, message}]}.
# It parses with Python's own ast module and never runs the code.
import ast
import json
import sys

DYNAMIC_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint"}
INTROSPECTION = {"globals", "locals", "vars", "getattr", "setattr", "delattr"}
# Attributes that lead from any object to frames, code, globals or every
# class in the interpreter: the classic ways out of a Python "sandbox".
DUNDERS = {
    "__builtins__", "__import__", "__loader__", "__spec__", "__subclasses__", "__globals__",
    "__code__", "__closure__", "__bases__", "__base__", "__mro__", "__class__", "__dict__",
    "__getattribute__", "__reduce__", "__reduce_ex__", "__self__", "__func__", "__init_subclass__",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "gi_frame", "gi_code", "cr_frame",
    "ag_frame", "tb_frame", "tb_next", "co_code", "func_globals", "mro",
}


def finding(out, name, node, rule, message):
    out.append({"file": name, "line": getattr(node, "lineno", 0),
                "column": getattr(node, "col_offset", -1) + 1, "rule": rule, "message": message})


class Checker(ast.NodeVisitor):
    def __init__(self, name, allow, deny, local, out):
        self.name, self.allow, self.deny, self.local, self.out = name, allow, deny, local, out

    def module(self, node, mod):
        top = mod.split(".")[0]
        if top in self.local:
            return
        if top in self.deny or mod in self.deny:
            finding(self.out, self.name, node, "import_denied", "import of %s is denied by the profile" % mod)
        elif self.allow and top not in self.allow and mod not in self.allow:
            finding(self.out, self.name, node, "import_not_allowed", "import of %s: not in the profile's allowed modules" % mod)
        if top in ("importlib", "imp", "builtins", "__builtin__"):
            finding(self.out, self.name, node, "dynamic_import", "%s gives access to arbitrary modules or builtins" % mod)

    def visit_Import(self, node):
        for alias in node.names:
            self.module(node, alias.name)

    def visit_ImportFrom(self, node):
        if node.level == 0 and node.module:
            self.module(node, node.module)
            for alias in node.names:
                if alias.name in DYNAMIC_CALLS:
                    finding(self.out, self.name, node, "dynamic_code", "imports %s from %s" % (alias.name, node.module))

    def visit_Name(self, node):
        # Any use, not only calls: `e = eval; e(s)` and `[exec][0](s)` are
        # aliases of the same thing.
        if node.id in DYNAMIC_CALLS:
            rule = "dynamic_import" if node.id == "__import__" else "dynamic_code"
            finding(self.out, self.name, node, rule, "use of %s" % node.id)
        elif node.id in INTROSPECTION:
            finding(self.out, self.name, node, "introspection", "use of %s (reaches names and attributes chosen at run time)" % node.id)
        elif node.id in DUNDERS:
            finding(self.out, self.name, node, "builtins_access", "use of %s" % node.id)

    def visit_Attribute(self, node):
        if node.attr in DUNDERS:
            finding(self.out, self.name, node, "dunder_access", "attribute %s leads to interpreter internals" % node.attr)
        elif node.attr in DYNAMIC_CALLS:
            finding(self.out, self.name, node, "dynamic_code", "attribute %s" % node.attr)
        elif node.attr == "import_module":
            finding(self.out, self.name, node, "dynamic_import", "import_module imports a module named at run time")
        self.generic_visit(node)

    def visit_Constant(self, node):
        # A string naming an internal is how getattr(x, "__globals__") and
        # __builtins__["eval"] are spelt.
        if isinstance(node.value, str) and (node.value in DUNDERS or node.value in DYNAMIC_CALLS):
            finding(self.out, self.name, node, "suspicious_string", "string %r names an interpreter internal" % node.value)


def main():
    req = json.load(sys.stdin)
    allow, deny = set(req.get("allow_imports") or []), set(req.get("deny_imports") or [])
    files = req.get("files") or []
    local = set()
    for f in files:
        n = f["name"]
        if n.endswith(".py"):
            parts = n[:-3].split("/")
            local.add(parts[0])
    out = []
    for f in files:
        try:
            tree = ast.parse(f["content"], filename=f["name"])
        except SyntaxError as e:
            out.append({"file": f["name"], "line": e.lineno or 0, "column": e.offset or 0,
                        "rule": "syntax_error", "message": e.msg})
            continue
        except (ValueError, RecursionError, MemoryError) as e:
            out.append({"file": f["name"], "line": 0, "column": 0, "rule": "syntax_error",
                        "message": "cannot parse: %s" % type(e).__name__})
            continue
        try:
            Checker(f["name"], allow, deny, local, out).visit(tree)
        except RecursionError:
            out.append({"file": f["name"], "line": 0, "column": 0, "rule": "analysis_failed",
                        "message": "nesting too deep to check"})
    out.sort(key=lambda x: (x["file"], x["line"], x["column"], x["rule"]))
    json.dump({"findings": out}, sys.stdout)


main()
