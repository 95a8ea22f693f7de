-- sqlite3: a table from lines.txt, an index, aggregates, a window
-- function, a recursive CTE and a transaction rolled back.
CREATE TABLE t(w TEXT, n INTEGER, w2 TEXT, i INTEGER);
.separator " "
.import lines.tsv t
CREATE INDEX t_n ON t(n);
SELECT w, count(*), sum(n), printf('%.4f', avg(n)) FROM t GROUP BY w ORDER BY w;
SELECT i, n, rank() OVER (ORDER BY n DESC) FROM t WHERE w2 = 'mu' ORDER BY n DESC LIMIT 5;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x * 3 FROM c WHERE x < 1e15) SELECT group_concat(x) FROM c;
BEGIN; DELETE FROM t WHERE n < 50000; SELECT count(*) FROM t; ROLLBACK;
SELECT count(*), hex(zeroblob(4)), typeof(1.5), 7 / 2.0, abs(-9223372036854775807) FROM t;
