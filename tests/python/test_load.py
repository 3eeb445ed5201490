"""Loading libnetkit and declaring its functions: where the module looks, what
it says when it finds nothing, and that every function of netkit.h has its
restype and argtypes (no implicit int for a pointer, a size or an ssize_t)."""
import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from nk_support import ROOT, netkit

HEADER = os.path.join(ROOT, "include", "netkit.h")
BUILD_LIB = os.path.join(ROOT, "lib", "libnetkit.so")
MODULE = os.path.join(ROOT, "python", "netkit.py")


def header_functions():
    """{name: (return type, [parameter types])} of every NK_EXTERN function."""
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found = {}
    for m in re.finditer(r"NK_EXTERN\s+([^;(]*?)\b(nk_\w+)\s*\(([^)]*)\)\s*;", text):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        types = [] if params in ("", "void") else [
            re.sub(r"\s*\b\w+$", "", p.strip()) if not p.strip().endswith("*") else p.strip()
            for p in params.split(",")]
        found[name] = (ret, types)
    return found


def import_in_subprocess(module_dir, env_extra):
    env = dict(os.environ)
    env.pop("NETKIT_LIBRARY", None)
    env.update(env_extra)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import netkit; "
            "print(netkit.library_path)")
    return subprocess.run([sys.executable, "-c", code, module_dir], env=env,
                          capture_output=True, text=True, timeout=30)


class TestPrototypes(unittest.TestCase):

    def test_every_header_function_is_declared(self):
        functions = header_functions()
        self.assertGreater(len(functions), 50)
        self.assertEqual(set(functions), set(netkit._PROTOTYPES))

    def test_types_match_the_header(self):
        def expect(ctype):
            if ctype.replace(" ", "") == "constchar*":
                return ctypes.c_char_p  # a C string in (or netkit's static text out)
            ctype = ctype.replace("const ", "").strip()
            if ctype == "void":
                return None
            if ctype == "int":
                return ctypes.c_int
            if ctype == "long":
                return ctypes.c_long
            if ctype == "size_t":
                return ctypes.c_size_t
            if ctype == "ssize_t":
                return ctypes.c_ssize_t
            if ctype.endswith("*") or ctype == "nk_tcp_handler":
                return "pointer"
            raise AssertionError(f"unexpected C type {ctype!r}")

        def is_pointer(t):
            return (t in (ctypes.c_void_p, ctypes.c_char_p) or
                    isinstance(t, type(ctypes.POINTER(ctypes.c_int))) or
                    getattr(t, "_flags_", 0) & 1)  # a CFUNCTYPE

        for name, (ret, params) in header_functions().items():
            with self.subTest(function=name):
                fn = getattr(netkit._nk, name)
                want = expect(ret)
                if want == "pointer":
                    self.assertTrue(is_pointer(fn.restype), fn.restype)
                else:
                    self.assertIs(fn.restype, want)
                self.assertEqual(len(fn.argtypes), len(params), params)
                for have, c in zip(fn.argtypes, params):
                    want = expect(c)
                    if want == "pointer":
                        self.assertTrue(is_pointer(have), f"{c} declared as {have}")
                    else:
                        self.assertIs(have, want, c)

    def test_struct_layouts(self):
        if ctypes.sizeof(ctypes.c_void_p) != 8 or not sys.platform.startswith("linux"):
            self.skipTest("the sizes below are those of 64-bit Linux")
        self.assertEqual(ctypes.sizeof(netkit.NkAddr), 136)       # sockaddr_storage + socklen_t
        self.assertEqual(ctypes.alignment(netkit.NkAddr), 8)
        self.assertEqual(netkit.NkAddr.len.offset, 128)
        self.assertEqual(ctypes.sizeof(netkit.NkAddrinfo), 168)
        self.assertEqual(netkit.NkAddrinfo.canonname.offset, 24)
        self.assertEqual(netkit.NkAddrinfo.addr.offset, 32)
        self.assertEqual(ctypes.sizeof(netkit.NkTcpServerOpts), 16)
        self.assertEqual(ctypes.sizeof(netkit.NkServeOpts), 16)

    def test_version(self):
        with open(HEADER) as f:
            text = f.read()
        want = re.search(r'#define NK_VERSION_STRING "([^"]+)"', text).group(1)
        self.assertEqual(netkit.__version__, want)

    def test_address_helpers_agree_with_python(self):
        # _addr_tuple (nk_addr_family/host/port) and netkit's own nk_addr_tuple
        # print the same as Python's repr of the address tuple.
        for ip, port in (("127.0.0.1", 80), ("::1", 443), ("fe80::1%1", 5)):
            addr = netkit.NkAddr()
            self.assertEqual(netkit._nk.nk_addr_set(ctypes.byref(addr), ip.encode(), port), 0)
            buf = ctypes.create_string_buffer(128)
            self.assertGreater(netkit._nk.nk_addr_tuple(ctypes.byref(addr), buf, 128), 0)
            tup = netkit._addr_tuple(addr)
            self.assertEqual(repr(tup), buf.value.decode())


class TestLoading(unittest.TestCase):

    def test_build_tree_is_used_by_default(self):
        if os.environ.get("NETKIT_LIBRARY"):
            self.assertEqual(netkit.library_path, os.environ["NETKIT_LIBRARY"])
        else:
            self.assertEqual(netkit.library_path, os.path.normpath(BUILD_LIB))

    def test_netkit_library_variable(self):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(MODULE, tmp)  # a copy next to a script: no build tree around it
            lib = os.path.realpath(BUILD_LIB)
            result = import_in_subprocess(tmp, {"NETKIT_LIBRARY": lib})
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.strip(), lib)
            bad = os.path.join(tmp, "nope", "libnetkit.so")
            result = import_in_subprocess(tmp, {"NETKIT_LIBRARY": bad})
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("ImportError: netkit: cannot load NETKIT_LIBRARY=", result.stderr)
            self.assertIn(bad, result.stderr)

    def test_import_error_says_where_it_looked(self):
        if ctypes.util.find_library("netkit"):
            self.skipTest("a libnetkit is installed on this system: the import finds it")
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(MODULE, tmp)
            result = import_in_subprocess(tmp, {})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ImportError: netkit: libnetkit.so not found; looked in:", result.stderr)
        self.assertIn("NETKIT_LIBRARY (not set)", result.stderr)
        self.assertIn(os.path.join(os.path.dirname(tmp), "lib", "libnetkit.so"), result.stderr)
        self.assertIn("ctypes.util.find_library('netkit') (not found)", result.stderr)

    def test_the_issue_import_line(self):
        result = subprocess.run([sys.executable, "-c",
                                 "import sys; sys.path.insert(0, 'python'); import netkit"],
                                cwd=ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
