"""The command line: help, flags, the TOML config file, environment variables, migrate, and
refusing what is not a Homeline database."""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.error

import harness
from harness import Server, free_port

SERVE_FLAGS = ("--config", "--http", "--data", "--no-demo", "--tls-cert", "--tls-key",
               "--heap-reserve")


def run(*args, env=None, timeout=30):
    """Runs homeline to completion: (exit code, stdout, stderr)."""
    full_env = dict(os.environ, **(env or {}))
    try:
        p = subprocess.run([harness.BIN, *args], capture_output=True, timeout=timeout,
                           env=full_env)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"homeline {args} kept running for {timeout} s")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Cli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="homeline-cli-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def spawn(self, *args, env=None):
        """Starts homeline with these arguments only (no harness defaults)."""
        log = open(self.path(f"server-{len(self.procs)}.log"), "wb")
        p = subprocess.Popen([harness.BIN, *args], stdout=log, stderr=subprocess.STDOUT,
                             env=dict(os.environ, **(env or {})))
        log.close()
        self.procs.append(p)
        return p

    def wait_healthy(self, proc, port):
        """A Server object for a process started by spawn, once it answers /healthz."""
        s = Server(data_dir=self.dir)
        s.port = port
        deadline = time.time() + 60
        while time.time() < deadline:
            self.assertIsNone(proc.poll(), f"server exited with {proc.returncode}")
            try:
                if s.request("GET", "/healthz", timeout=1)[0] == 200:
                    return s
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        self.fail("server did not become healthy")

    def wait_exit(self, proc, timeout=30):
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("the server kept running")

    def login_status(self, server, login="ada", password="demo"):
        return server.request("POST", "/api/v1/auth/login", {"login": login, "password": password})[0]

    # ---- help and flags --------------------------------------------------------------------

    def test_help_documents_the_serve_flags(self):
        for args in (["--help"], ["serve", "--help"]):
            code, out, err = run(*args)
            self.assertEqual(code, 0, f"{args}: {err}")
            for flag in SERVE_FLAGS:
                self.assertIn(flag, out, f"{args} does not document {flag}")
        code, out, _ = run("--help")
        self.assertIn("migrate", out)
        code, out, _ = run("migrate", "--help")
        self.assertEqual(code, 0)
        self.assertIn("--data", out)

    def test_unknown_flag_or_subcommand_fails(self):
        d = self.path("d")
        for args in (["--bogus"], ["serve", "--bogus", "--data", d], ["serve", "--data"],
                     ["serve", "--data", ""], ["migrate", "--data", d, "--extra"], ["frobnicate"],
                     []):
            code, out, err = run(*args, timeout=15)
            self.assertNotEqual(code, 0, f"{args} exited 0: {out}")
            self.assertTrue(err.strip(), f"{args}: no message on stderr")
        self.assertFalse(os.path.exists(d), "a refused command created its data dir")

    def test_bad_http_value_fails_with_a_message(self):
        for value in ("nonsense", "127.0.0.1:99999", "127.0.0.1:port", "[::1", ""):
            code, out, err = run("serve", "--http", value, "--data", self.path("d"), timeout=15)
            self.assertNotEqual(code, 0, f"--http {value!r} exited 0")
            self.assertTrue(err.strip(), f"--http {value!r}: no message")
        self.assertFalse(os.path.exists(self.path("d", "homeline.db")))

    def test_bad_heap_reserve_fails_and_a_good_one_serves(self):
        for value in ("-1", "lots", "2000000"):
            code, out, err = run("serve", "--heap-reserve", value, "--data", self.path("d"), timeout=15)
            self.assertNotEqual(code, 0, f"--heap-reserve {value!r} exited 0")
            self.assertTrue(err.strip(), f"--heap-reserve {value!r}: no message")
        bad = self.path("heap.toml")
        with open(bad, "w") as f:
            f.write("[server]\nheap_reserve = -5\n")
        code, _, err = run("serve", "--config", bad, "--data", self.path("d"), timeout=15)
        self.assertNotEqual(code, 0)
        self.assertIn("heap_reserve", err)
        self.assertFalse(os.path.exists(self.path("d", "homeline.db")))
        # A reserve (64 MiB; builds without mimalloc, as the tests', say so and go on).
        port = free_port()
        proc = self.spawn("serve", "--http", f"127.0.0.1:{port}", "--data", self.path("r"),
                          "--no-demo", "--sip", "off", "--heap-reserve", "64")
        self.wait_healthy(proc, port)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(proc), 0)
        with open(self.path(f"server-{len(self.procs) - 1}.log"), encoding="utf-8") as f:
            self.assertIn("heap reserve: ", f.read())

    def test_missing_or_bad_config_file_fails(self):
        code, _, err = run("serve", "--config", self.path("missing.toml"))
        self.assertNotEqual(code, 0)
        self.assertTrue(err.strip())
        bad = self.path("bad.toml")
        with open(bad, "w") as f:
            f.write("[server\nhttp = \n")
        code, _, err = run("serve", "--config", bad)
        self.assertNotEqual(code, 0)
        self.assertTrue(err.strip())
        with open(bad, "w") as f:
            f.write('[server]\nhttp = "nonsense"\n')
        code, _, err = run("serve", "--config", bad)
        self.assertNotEqual(code, 0)
        for sip in ("qualify = -1", "qualify = 3601", "qualify_timeout = 0", "qualify_timeout = 61"):
            with open(bad, "w") as f:
                f.write(f"[sip]\n{sip}\n")
            code, _, err = run("serve", "--config", bad, "--data", self.path("d"))
            self.assertNotEqual(code, 0, sip)
            self.assertIn("sip.qualify", err, sip)
        self.assertFalse(os.path.exists(self.path("d", "homeline.db")))

    # ---- configuration sources -------------------------------------------------------------

    def test_config_file_sets_port_data_and_demo(self):
        port = free_port()
        data = self.path("from-config")
        config = self.path("homeline.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nhttp = "127.0.0.1:{port}"\ndata = "{data}"\ndemo = false\n'
                    '[log]\nlevel = "warn"\n')
        proc = self.spawn("serve", "--config", config)
        server = self.wait_healthy(proc, port)
        self.assertTrue(os.path.isfile(os.path.join(data, "homeline.db")))
        self.assertEqual(self.login_status(server), 401, "demo users exist despite demo = false")
        # Flags override the file.
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(proc), 0)
        port2 = free_port()
        proc = self.spawn("serve", "--config", config, "--http", f"127.0.0.1:{port2}")
        server = self.wait_healthy(proc, port2)
        self.assertEqual(self.login_status(server), 401)

    def test_environment_variables(self):
        port = free_port()
        env = {"HOMELINE_HTTP": f"127.0.0.1:{port}", "HOMELINE_DATA": self.path("env"),
               "HOMELINE_DEMO": "0", "HOMELINE_LOG_LEVEL": "warn"}
        proc = self.spawn("serve", env=env)
        server = self.wait_healthy(proc, port)
        self.assertTrue(os.path.isfile(self.path("env", "homeline.db")))
        self.assertEqual(self.login_status(server), 401, "HOMELINE_DEMO=0 still made demo users")

    def test_demo_on_by_default_and_off_with_flag(self):
        on = Server().start()
        off = Server(demo=False).start()
        try:
            self.assertEqual(self.login_status(on), 200)
            self.assertEqual(self.login_status(off), 401)
        finally:
            on.cleanup()
            off.cleanup()

    def test_two_instances_side_by_side(self):
        a = Server().start()
        b = Server().start()
        try:
            self.assertNotEqual((a.port, a.data_dir), (b.port, b.data_dir))
            ta, tb = a.login("ada"), b.login("ada")
            status, _ = a.request("POST", "/api/v1/tenants/acme/skills", {"name": "only-in-a"},
                                  token=ta)
            self.assertEqual(status, 201)
            names = lambda s, t: [x["name"] for x in
                                  s.request("GET", "/api/v1/tenants/acme/skills", token=t)[1]]
            self.assertIn("only-in-a", names(a, ta))
            self.assertNotIn("only-in-a", names(b, tb))
            # A token of one is nothing to the other.
            self.assertEqual(b.request("GET", "/api/v1/me", token=ta)[0], 401)
            # A third on a port in use exits with an error instead of serving nothing.
            proc = self.spawn("serve", "--http", f"127.0.0.1:{a.port}", "--data", self.path("c"))
            self.assertNotEqual(self.wait_exit(proc), 0)
            self.assertEqual(a.request("GET", "/healthz")[0], 200)
        finally:
            a.cleanup()
            b.cleanup()

    def test_sigterm_exits_cleanly_and_keeps_data(self):
        s = Server().start()
        try:
            t = s.login("ada")
            self.assertEqual(s.request("POST", "/api/v1/tenants/acme/skills", {"name": "kept"},
                                       token=t)[0], 201)
            self.assertEqual(s.stop(), 0)
            s.start()
            t = s.login("ada")
            names = [x["name"] for x in s.request("GET", "/api/v1/tenants/acme/skills", token=t)[1]]
            self.assertIn("kept", names)
        finally:
            s.cleanup()

    # ---- the database ----------------------------------------------------------------------

    def test_migrate_prints_the_schema_version(self):
        data = self.path("m")
        code, out, err = run("migrate", "--data", data)
        self.assertEqual(code, 0, err)
        m = re.search(r"\d+", out)
        self.assertIsNotNone(m, out)
        self.assertTrue(os.path.isfile(os.path.join(data, "homeline.db")))
        # Idempotent, and the server takes the migrated database.
        code, out2, err = run("migrate", "--data", data)
        self.assertEqual((code, re.search(r"\d+", out2).group()), (0, m.group()), err)
        s = Server(data_dir=data).start()
        try:
            self.assertEqual(self.login_status(s), 200)
        finally:
            s.cleanup()

    def test_refuses_a_database_that_is_not_homeline(self):
        cases = {"garbage": lambda p: open(p, "wb").write(os.urandom(8192)),
                 "text": lambda p: open(p, "w").write("hello, I am not a database\n" * 100)}

        def other_sqlite(p):
            db = sqlite3.connect(p)
            db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
            db.execute("INSERT INTO invoices (amount) VALUES (12.5)")
            db.commit()
            db.close()
        cases["other sqlite"] = other_sqlite
        for name, make in cases.items():
            data = self.path(name.replace(" ", "-"))
            os.makedirs(data)
            db = os.path.join(data, "homeline.db")
            make(db)
            with open(db, "rb") as f:
                before = f.read()
            port = free_port()
            proc = self.spawn("serve", "--http", f"127.0.0.1:{port}", "--data", data)
            self.assertNotEqual(self.wait_exit(proc), 0, f"{name}: the server accepted it")
            code, out, err = run("migrate", "--data", data)
            self.assertNotEqual(code, 0, f"{name}: migrate accepted it: {out}")
            with open(db, "rb") as f:
                self.assertEqual(f.read(), before, f"{name}: the file was changed")


if __name__ == "__main__":
    unittest.main()
