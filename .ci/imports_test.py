#!/usr/bin/env python3
"""Tests of imports.py on small made-up crates: each rule must fire on what
it forbids and stay quiet on what it allows."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imports  # noqa: E402


def check(files):
    """Runs the checker on a crate made of `files` ({path: text}); returns (exit code, lines)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, 'src')
        for path, text in files.items():
            full = os.path.join(src, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, 'w', encoding='utf-8') as fh:
                fh.write(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = imports.main([src])
        return code, out.getvalue().splitlines()


LIB = 'pub mod a;\npub mod b;\n'


class Rules(unittest.TestCase):
    def test_a_clean_crate_passes(self):
        code, lines = check({
            'lib.rs': LIB,
            'a/mod.rs': 'mod error;\nmod leaf;\npub use error::E;\n',
            'a/error.rs': 'pub struct E;\n',
            'a/leaf.rs': 'use super::error::E;\nuse crate::a::error::E as F;\n',
            'b.rs': 'use crate::a::E;\n',
        })
        self.assertEqual((code, lines), (0, []))

    def test_a_cycle_between_top_level_modules_fails(self):
        code, lines = check({'lib.rs': LIB, 'a.rs': 'use crate::b::X;\n', 'b.rs': 'use crate::{a::Y};\n'})
        self.assertEqual(code, 1)
        self.assertIn('src: import cycle between top-level modules: a <-> b', lines)

    def test_super_item_and_crate_path_to_the_parent_fail(self):
        code, lines = check({
            'lib.rs': LIB,
            'a/mod.rs': 'mod leaf;\nmod other;\npub struct E;\n',
            'a/leaf.rs': 'use super::{other, E};\n',
            'a/other.rs': 'fn f() -> crate::a::E { todo!() }\n',
            'b.rs': '',
        })
        self.assertEqual(code, 1)
        self.assertEqual(lines, [
            'src/a/leaf.rs: child->parent import super::E',
            'src/a/other.rs: child->parent import crate::a::E',
        ])

    def test_a_glob_of_the_parent_fails(self):
        code, lines = check({'lib.rs': LIB, 'a/mod.rs': 'mod leaf;\n', 'a/leaf.rs': 'use super::*;\n', 'b.rs': ''})
        self.assertEqual((code, lines), (1, ['src/a/leaf.rs: child->parent import super::*']))

    def test_test_code_comments_and_strings_are_not_read(self):
        code, lines = check({
            'lib.rs': LIB,
            'a/mod.rs': 'mod leaf;\nmod other;\n#[cfg(test)]\nmod leaf_tests;\npub struct E;\n',
            'a/leaf.rs': '// super::E\nconst S: &str = "super::E";\n#[cfg(test)]\nmod tests { use super::super::E; }\n',
            'a/leaf_tests.rs': 'use super::E;\n',
            'a/other.rs': '#[cfg(test)]\n#[path = "other_tests.rs"]\nmod tests;\n',
            'a/other_tests.rs': 'use crate::a::E;\n',
            'b.rs': '',
        })
        self.assertEqual((code, lines), (0, []))

    def test_a_cycle_between_siblings_fails_unless_its_folder_is_listed(self):
        crate = {
            'lib.rs': LIB,
            'a/mod.rs': 'mod b;\nmod c;\n',
            'a/b.rs': 'use super::c::C;\npub struct B;\n',
            'a/c.rs': 'pub struct C(crate::a::b::B);\n',
            'b.rs': '',
        }
        code, lines = check(crate)
        self.assertEqual((code, lines), (1, ['src/a/b.rs: import cycle between sibling modules: a/b <-> a/c']))
        saved = imports.CYCLES_REPORT_ONLY
        imports.CYCLES_REPORT_ONLY = ['src/a/']
        try:
            code, lines = check(crate)
        finally:
            imports.CYCLES_REPORT_ONLY = saved
        self.assertEqual(code, 0)
        self.assertEqual(lines, ['src/a/b.rs: import cycle between sibling modules: a/b <-> a/c (report only)'])

    def test_report_only_paths_are_printed_but_do_not_fail(self):
        saved = imports.REPORT_ONLY
        imports.REPORT_ONLY = ['src/a/']
        try:
            code, lines = check({'lib.rs': LIB, 'a/mod.rs': 'mod leaf;\npub struct E;\n', 'a/leaf.rs': 'use super::E;\n', 'b.rs': ''})
        finally:
            imports.REPORT_ONLY = saved
        self.assertEqual((code, lines), (0, ['src/a/leaf.rs: child->parent import super::E (report only)']))


if __name__ == '__main__':
    unittest.main()
