# Signals, subprocess, fork and exec from Python: the process-level paths.
import os, signal, subprocess, time, sys
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.kill(os.getpid(), signal.SIGUSR1)
signal.signal(signal.SIGALRM, lambda s, f: got.append(s))
signal.setitimer(signal.ITIMER_REAL, 0.05)
deadline = time.monotonic() + 30	# however loaded the machine is
while signal.SIGALRM not in got and time.monotonic() < deadline:
    time.sleep(0.01)
old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
os.kill(os.getpid(), signal.SIGUSR2)
print("pending", sorted(signal.sigpending()))
signal.signal(signal.SIGUSR2, lambda s, f: got.append(s))
signal.pthread_sigmask(signal.SIG_SETMASK, old)
print("signals", got)
r = subprocess.run(["/bin/sh", "-c", "echo sub; echo err >&2; exit 3"], capture_output=True, text=True)
print(r.returncode, r.stdout.strip(), r.stderr.strip())
print(subprocess.check_output(["/usr/bin/sort", "-r"], input=b"a\nc\nb\n"))
print(subprocess.run("echo $((6 * 7)) | tr 4 X", shell=True, capture_output=True).stdout)
pid = os.fork()
if pid == 0:
    os._exit(7)
print("child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
rfd, wfd = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(wfd, 1)
    os.close(rfd)
    os.execv("/bin/echo", ["echo", "from", "exec"])
os.close(wfd)
print(os.read(rfd, 100), os.waitpid(pid, 0)[1])
p = subprocess.Popen(["/bin/sleep", "10"])
p.send_signal(signal.SIGTERM)
print("term", p.wait())
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGSEGV)
print("segv", os.waitpid(pid, 0)[1] & 0x7f)
sys.stdout.flush()
os.execv(sys.executable, [sys.executable, "-c", "import sys; print('exec', sys.argv)", "x"])
