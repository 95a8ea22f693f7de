# multiprocessing: a fork pool and a spawn pool (a fresh interpreter
# exec'd, talking over pipes); asyncio with a subprocess and timers.
import asyncio
import multiprocessing as mp


async def aio():
    p = await asyncio.create_subprocess_exec("/bin/echo", "hi", stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    print(out, p.returncode)
    r = await asyncio.gather(*(asyncio.sleep(0.01, result=i) for i in range(50)))
    print(sum(r))


if __name__ == "__main__":
    with mp.Pool(3) as p:
        print(sum(p.map(abs, range(-1000, 1000))))
    with mp.get_context("spawn").Pool(2) as p:
        print(p.map(len, ["a", "bb", "ccc"]))
    asyncio.run(aio())
