"""The signatures show where the signature blocks are printed, with the signer's name (issue 5:
"signature blocks"), and filling the prepared fields is a change the certification permits."""

import io

import pikepdf

from records.minutes import drafting


def test_each_signature_is_stamped_in_its_block(sealed):
    data = drafting.read_bytes(sealed.document)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        widgets = {str(f.T): f for f in pdf.Root.AcroForm.Fields}
        assert set(widgets) == {"ThuKy", "ChuToa"}
        on_page = {str(annot.T): number for number, page in enumerate(pdf.pages)
                   for annot in page.obj.get("/Annots", []) if "/T" in annot}
        boxes = sealed.document.signature_boxes
        assert on_page == {"ThuKy": boxes["secretary"][0], "ChuToa": boxes["chair"][0]}
        for name, field in widgets.items():
            x1, y1, x2, y2 = (float(v) for v in field.Rect)
            assert x2 - x1 > 100 and y2 - y1 > 40, name  # a visible box, not a zero-size field
            assert field.AP.N.read_bytes(), name  # an appearance stream was drawn
        secretary, chair = widgets["ThuKy"], widgets["ChuToa"]
        assert float(secretary.Rect[0]) < float(chair.Rect[0])  # secretary left, chair right
    assert boxes["secretary"][0] == boxes["chair"][0]  # one signature block row
