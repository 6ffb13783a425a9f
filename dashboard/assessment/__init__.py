"""综合评价 (composite assessment): the admin-edited weights (app database, audited) and the command line."""
