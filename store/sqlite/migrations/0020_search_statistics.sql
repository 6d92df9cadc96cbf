-- Nothing changes on SQLite. PostgreSQL's migration of this name keeps
-- more statistics of the search words for its planner; SQLite's store
-- chooses a search's plan itself, by counting the matches in the
-- full-text index up to a limit first (searchPlan).
SELECT 1;
