CFLAGS = -O2 -Wall
all: prog out.txt
prog: hello.o util.o
	$(CC) -o $@ $^ -lm
%.o: %.c util.h
	$(CC) $(CFLAGS) -c -o $@ $<
out.txt: prog
	./prog made > $@
.PHONY: clean
clean:
	rm -f prog *.o out.txt
