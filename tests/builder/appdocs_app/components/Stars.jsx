import PropTypes from "prop-types";

function Stars({ value, outOf }) {
  return <span>{value}/{outOf}</span>;
}

Stars.propTypes = {
  value: PropTypes.number.isRequired,
  outOf: PropTypes.number,
};
Stars.defaultProps = { outOf: 5 };

export default Stars;
