-- One sale from one hot row, as the service's direct order does it under the product's lock:
-- lock the product, take a unit, write the order row, commit. Run by `bench/run.py hotrow`
-- (pgbench -n -f hot_row.sql -c 16 -j 2 -T 10) on a table created for the run.
BEGIN;
SELECT stock FROM bench_hot_product WHERE id = 1 FOR NO KEY UPDATE;
UPDATE bench_hot_product SET stock = stock - 1, version = version + 1 WHERE id = 1;
INSERT INTO bench_hot_order (product_id, quantity, created_at) VALUES (1, 1, now());
COMMIT;
