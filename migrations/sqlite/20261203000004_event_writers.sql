-- PostgreSQL's migration of this number lets readers of the log wait only for transactions
-- that append events, not for every transaction of the cluster. SQLite has one writer at a
-- time and reads in position order, so there is nothing to do; the file keeps both backends'
-- migration numbers alike.
SELECT 1;
