"""Cell tags shared by the builder (curriculum.cells) and the page's widgets (curriculum.learner).

Standard library only: the learner's kernel imports this when the page opens, and nbformat
(which curriculum.cells needs) would add seconds to that import on a busy machine.
"""

# The tag of a reflection's graded cell: the module page hides that cell (its words come from the
# text box above it, curriculum.reflections); nbconvert's and Voila's templates add the class
# ``celltag_<tag>`` to the rendered cell.
REFLECTION_CELL_TAG = "hcwh-reflection-cell"
