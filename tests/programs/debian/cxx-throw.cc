// C++ exceptions thrown and caught in several threads at once, rethrown
// across a std::thread boundary through std::exception_ptr, and unwinding
// through destructors: every throw runs the libgcc_s unwinder.
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// Objects alive, across all threads: atomic, since four threads construct
// and destroy them at once.
struct counted {
	static std::atomic<int> live;
	counted() { live++; }
	~counted() { live--; }
};
std::atomic<int> counted::live;

static int depth_throw(int n)
{
	counted c;
	if (n == 0)
		throw std::runtime_error("bottom");
	return depth_throw(n - 1) + 1;
}

int main()
{
	std::mutex m;
	std::vector<std::string> log;
	std::vector<std::exception_ptr> errors(4);
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([t, &m, &log, &errors] {
			int caught = 0;
			for (int i = 0; i < 200; i++) {
				try {
					if (i % 3 == 0)
						throw std::out_of_range("range " + std::to_string(i));
					if (i % 3 == 1)
						throw i * 7 + t;
					depth_throw(i % 17);
				} catch (const std::out_of_range &e) {
					caught += 1;
				} catch (int v) {
					caught += v % 5 == 0 ? 2 : 1;
				} catch (const std::exception &e) {
					caught += std::string(e.what()) == "bottom" ? 3 : 100;
				}
			}
			try {
				throw std::logic_error("thread " + std::to_string(t));
			} catch (...) {
				errors[t] = std::current_exception();
			}
			std::lock_guard<std::mutex> g(m);
			log.push_back("thread " + std::to_string(t) + " caught " + std::to_string(caught));
		});
	for (auto &th : threads)
		th.join();
	std::sort(log.begin(), log.end());
	for (auto &l : log)
		std::printf("%s\n", l.c_str());
	for (auto &e : errors) {
		try {
			std::rethrow_exception(e);
		} catch (const std::logic_error &x) {
			std::printf("rethrown in main: %s\n", x.what());
		}
	}
	std::printf("live objects after unwinding: %d\n", counted::live.load());
	std::fflush(stdout);
	// Uncaught: std::terminate, abort, SIGABRT -- the same natively.
	throw std::runtime_error("uncaught");
}
