"""Running student code in separate, limited processes that hold nothing of the grader's."""
