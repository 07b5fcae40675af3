import { useRef, useState } from "react";
import { Modal, Popover } from "@atoll/ui";
import "./Dialog.css";

export default function Dialog() {
  const [open, setOpen] = useState(false);
  const [tip, setTip] = useState(false);
  const tipAnchor = useRef(null);
  return (
    <>
      <button id="open" onClick={() => setOpen(true)}>Open</button>
      <button id="tip" ref={tipAnchor} onClick={() => setTip(!tip)}>Tip</button>
      <Popover anchor={tipAnchor.current} open={tip} className="tip">A tip</Popover>
      <Modal open={open} onClose={() => setOpen(false)} className="dialog">
        <p id="modal-text">Hello from the modal</p>
        <button id="close" onClick={() => setOpen(false)}>Close</button>
      </Modal>
    </>
  );
}
