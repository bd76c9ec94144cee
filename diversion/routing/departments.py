"""Sub-category → department: the default department, unless a grid the call lies in overrides it
(属地管理, territory first). The override on the nearest ancestor of the call's micro grid wins."""

from __future__ import annotations

MAX_GRID_DEPTH = 8  # large → small → micro is three; the guard only stops a corrupted, cyclic tree


def grid_lineage(grid) -> list[int]:
    """Ids from the grid itself up to its root, nearest first."""
    from grids.models import Grid

    ids: list[int] = []
    if grid is None:
        return ids
    current_id, parent_id = grid.pk, grid.parent_id
    ids.append(current_id)
    while parent_id is not None and len(ids) < MAX_GRID_DEPTH and parent_id not in ids:
        ids.append(parent_id)
        parent_id = Grid.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return ids


def department_for(*, category, grid=None):
    """The department a call of `category` in `grid` (a micro grid, or None) goes to."""
    from diversion.models import DepartmentOverride

    lineage = grid_lineage(grid)
    if lineage:
        overrides = {
            o.grid_id: o.department
            for o in DepartmentOverride.objects.filter(category=category, grid_id__in=lineage,
                                                       department__active=True).select_related("department")
        }
        for grid_id in lineage:
            if grid_id in overrides:
                return overrides[grid_id]
    return category.default_department
