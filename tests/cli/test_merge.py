"""The per-file three-way merge behind push and pull (pure: trees of path -> sha)."""

from __future__ import annotations

from atoll.cli.merge import link_base, plan_merge

A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_unchanged_on_both_sides_is_left_alone() -> None:
    plan = plan_merge({"f": A}, {"f": A}, {"f": A})
    assert (plan.fetch, plan.delete, plan.conflicts, plan.local_changes) == ({}, [], {}, [])
    assert plan.base == {"f": A}
    assert plan.remote_changes == []


def test_changed_only_locally_is_kept_for_a_push() -> None:
    plan = plan_merge({"f": A}, {"f": B}, {"f": A})
    assert plan.local_changes == ["f"]
    assert (plan.fetch, plan.delete, plan.conflicts) == ({}, [], {})
    assert plan.base == {"f": A}  # the old version: the edit is still to be pushed


def test_added_only_locally_is_a_local_change_outside_the_base() -> None:
    plan = plan_merge({}, {"new": B}, {})
    assert plan.local_changes == ["new"]
    assert plan.fetch == {}
    assert plan.base == {}


def test_changed_only_remotely_is_fetched() -> None:
    plan = plan_merge({"f": A}, {"f": A}, {"f": B})
    assert plan.fetch == {"f": B}
    assert (plan.delete, plan.conflicts, plan.local_changes) == ([], {}, [])
    assert plan.base == {"f": B}
    assert plan.remote_changes == ["f"]


def test_added_only_remotely_is_fetched() -> None:
    plan = plan_merge({}, {}, {"new": C})
    assert plan.fetch == {"new": C}
    assert plan.base == {"new": C}


def test_deleted_remotely_and_unchanged_locally_is_deleted() -> None:
    plan = plan_merge({"f": A}, {"f": A}, {})
    assert plan.delete == ["f"]
    assert (plan.fetch, plan.conflicts, plan.local_changes) == ({}, {}, [])
    assert plan.base == {}
    assert plan.remote_changes == ["f"]


def test_deleted_locally_and_unchanged_remotely_is_a_pending_local_deletion() -> None:
    plan = plan_merge({"f": A}, {}, {"f": A})
    assert plan.fetch == {}
    assert plan.delete == []
    assert plan.conflicts == {}
    assert plan.local_changes == ["f"]
    # The base keeps the workspace's version, as for any local edit: dropping it would make
    # the next merge see a file "added in the workspace" and fetch the deleted file back.
    assert plan.base == {"f": A}
    again = plan_merge(plan.base, {}, {"f": A})
    assert again.fetch == {}
    assert again.local_changes == ["f"]


def test_deleted_on_both_sides_leaves_the_base() -> None:
    plan = plan_merge({"f": A}, {}, {})
    assert (plan.fetch, plan.delete, plan.conflicts, plan.local_changes) == ({}, [], {}, [])
    assert plan.base == {}


def test_changed_the_same_way_on_both_sides_is_no_conflict() -> None:
    plan = plan_merge({"f": A}, {"f": B}, {"f": B})
    assert (plan.fetch, plan.delete, plan.conflicts, plan.local_changes) == ({}, [], {}, [])
    assert plan.base == {"f": B}


def test_changed_differently_on_both_sides_is_a_conflict_based_on_the_remote() -> None:
    plan = plan_merge({"f": A}, {"f": B}, {"f": C})
    assert plan.conflicts == {"f": C}
    assert (plan.fetch, plan.delete, plan.local_changes) == ({}, [], [])
    assert plan.base == {"f": C}  # once resolved, the local file is a change to push
    assert plan.remote_changes == []


def test_deleted_remotely_and_changed_locally_is_a_conflict_outside_the_base() -> None:
    plan = plan_merge({"f": A}, {"f": B}, {})
    assert plan.conflicts == {"f": None}
    assert plan.delete == []  # the local edit is not thrown away
    assert "f" not in plan.base


def test_deleted_locally_and_changed_remotely_is_a_conflict() -> None:
    plan = plan_merge({"f": A}, {}, {"f": C})
    assert plan.conflicts == {"f": C}
    assert plan.fetch == {}
    assert plan.base == {"f": C}


def test_added_on_both_sides_with_different_content_is_a_conflict() -> None:
    plan = plan_merge({}, {"f": B}, {"f": C})
    assert plan.conflicts == {"f": C}
    assert plan.base == {"f": C}


def test_added_on_both_sides_with_the_same_content_is_fine() -> None:
    plan = plan_merge({}, {"f": B}, {"f": B})
    assert (plan.fetch, plan.delete, plan.conflicts, plan.local_changes) == ({}, [], {}, [])
    assert plan.base == {"f": B}


def test_disjoint_changes_combine() -> None:
    base = {"same": A, "mine": A, "theirs": A, "gone": A, "both": A}
    local = {"same": A, "mine": B, "theirs": A, "gone": A, "both": B, "added": C}
    remote = {"same": A, "mine": A, "theirs": C, "both": C, "fresh": B}
    plan = plan_merge(base, local, remote)
    assert plan.local_changes == ["added", "mine"]
    assert plan.fetch == {"fresh": B, "theirs": C}
    assert plan.delete == ["gone"]
    assert plan.conflicts == {"both": C}
    assert plan.remote_changes == ["fresh", "gone", "theirs"]
    assert plan.base == {"same": A, "mine": A, "theirs": C, "both": C, "fresh": B}


def test_the_inputs_are_not_modified() -> None:
    base, local, remote = {"f": A}, {"f": B}, {"f": C, "g": A}
    plan_merge(base, local, remote)
    assert (base, local, remote) == ({"f": A}, {"f": B}, {"f": C, "g": A})


def test_link_base_holds_the_remote_version_of_files_on_both_sides() -> None:
    local = {"both": A, "edited": B, "mine": C}
    remote = {"both": A, "edited": A, "theirs": C}
    assert link_base(local, remote) == {"both": A, "edited": A}


def test_link_base_never_schedules_deleting_a_remote_only_file() -> None:
    local = {"both": A, "edited": B, "mine": C}
    remote = {"both": A, "edited": A, "theirs": C}
    plan = plan_merge(link_base(local, remote), local, remote)
    assert plan.delete == []
    assert plan.fetch == {"theirs": C}  # still to come into the folder
    assert plan.conflicts == {}
    assert plan.local_changes == ["edited", "mine"]


def test_link_base_of_an_empty_folder_fetches_everything() -> None:
    remote = {"a": A, "b": B}
    assert link_base({}, remote) == {}
    plan = plan_merge(link_base({}, remote), {}, remote)
    assert plan.fetch == remote
    assert plan.delete == []
